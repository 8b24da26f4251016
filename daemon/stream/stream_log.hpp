// The stream's numbering and its most recent lines. Every line the daemon
// makes for all clients (fork, exec and exit lines, kernel_ring_full and
// shutdown lost lines, the gap line) takes the next `seq` here, whether or
// not any client wants it, and is kept, bounded in bytes, for clients that
// resume with `since` (docs/protocol.md, "Resuming"). Per-client lines
// (answers, stats, client_slow, replay_expired) are not numbered.
#pragma once

#include "fanout.hpp"
#include "protocol.hpp"
#include "subscription.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <span>

namespace execmond {

class ProcessTable;

// One kept line and what a subscription looks at in it.
struct StreamEntry {
    Line line;
    // The parent chain's pids, then the comm, filename and cgroup bytes: one
    // allocation per line.
    std::unique_ptr<Pid[]> data;
    uint32_t uid = 0;
    Pid pid = 0;
    Pid ppid = 0;
    uint16_t comm_len = 0;
    uint16_t filename_len = 0;
    uint16_t cgroup_len = 0;
    uint8_t chain_len = 0;
    bool chain_cut = false;
    bool everyone = false; // a lost or gap line: every client gets it, whatever its filter
    EventKind kind{};
};

class StreamLog {
public:
    // Bytes of kept lines and their bookkeeping; 0 keeps nothing (numbering goes on).
    explicit StreamLog(uint64_t capacity_bytes = 0);

    // The next seq; each must then be kept (or not, when !keeping()) in order.
    uint64_t assign() { return ++last_seq_; }
    bool keeping() const { return capacity_ != 0; }
    // Keeps an event line with what its subscription checks; the oldest
    // lines go first when the bytes would exceed the capacity.
    void keep(uint64_t seq, const Line& line, const MatchFacts& facts);
    // Keeps a line for every client (lost, gap).
    void keep_for_all(uint64_t seq, const Line& line);

    uint64_t last_seq() const { return last_seq_; }
    // The oldest seq still kept; last_seq() + 1 when nothing is.
    uint64_t first_kept() const { return entries_.empty() ? last_seq_ + 1 : first_kept_; }
    const StreamEntry* find(uint64_t seq) const;
    // Would a client with this filter have received the entry live?
    bool wanted(const StreamEntry& e, const Subscription& s, const ProcessTable& table) const;

    uint64_t capacity() const { return capacity_; }
    uint64_t bytes() const { return bytes_; }
    uint64_t lines() const { return entries_.size(); }

    // What is accounted per kept line besides its text (the entry, the
    // shared line's control block and string, allocator headers).
    static constexpr uint64_t overhead_per_line = sizeof(StreamEntry) + 96;

private:
    void store(uint64_t seq, StreamEntry entry, uint64_t cost);
    static uint64_t cost_of(const StreamEntry& e);

    uint64_t capacity_;
    uint64_t last_seq_ = 0;
    uint64_t first_kept_ = 1;
    uint64_t bytes_ = 0;
    std::deque<StreamEntry> entries_; // seqs first_kept_ .. first_kept_ + size - 1
};

// Numbers a line every client gets (`make` is given its seq), keeps it, and
// sends it to every subscriber not catching up from the log.
template <typename MakeLine> uint64_t publish_to_all(StreamLog& log, const Fanout& fanout, MakeLine&& make) {
    uint64_t seq = log.assign();
    Line line = share(make(seq));
    if (log.keeping())
        log.keep_for_all(seq, line);
    fanout.for_each([&](Subscriber& s) {
        if (!s.replaying())
            s.deliver(line, seq);
    });
    return seq;
}

} // namespace execmond
