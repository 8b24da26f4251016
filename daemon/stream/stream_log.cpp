#include "stream_log.hpp"

#include <algorithm>
#include <cstring>

namespace execmond {

namespace {

uint16_t clamp16(size_t n) {
    return static_cast<uint16_t>(std::min<size_t>(n, UINT16_MAX));
}

} // namespace

StreamLog::StreamLog(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

uint64_t StreamLog::cost_of(const StreamEntry& e) {
    return e.line->size() + overhead_per_line + e.chain_len * sizeof(Pid) + e.comm_len + e.filename_len +
           e.cgroup_len;
}

void StreamLog::keep(uint64_t seq, const Line& line, const MatchFacts& facts) {
    StreamEntry e;
    e.line = line;
    e.kind = facts.kind;
    e.uid = facts.uid;
    e.pid = facts.pid;
    e.ppid = facts.ppid;
    e.comm_len = clamp16(facts.comm.size());
    e.filename_len = clamp16(facts.filename.size());
    e.cgroup_len = clamp16(facts.cgroup_path.size());
    size_t chain = facts.chain ? std::min<size_t>(facts.chain->size(), UINT8_MAX) : 0;
    e.chain_len = static_cast<uint8_t>(chain);
    e.chain_cut = facts.chain_cut || (facts.chain && facts.chain->size() > chain);
    size_t text = size_t{e.comm_len} + e.filename_len + e.cgroup_len;
    e.data = std::make_unique_for_overwrite<Pid[]>(chain + (text + sizeof(Pid) - 1) / sizeof(Pid));
    if (chain != 0)
        std::memcpy(e.data.get(), facts.chain->data(), chain * sizeof(Pid));
    // An empty view may have no data at all (an unknown cgroup): memcpy must not see it.
    char* at = reinterpret_cast<char*>(e.data.get() + chain);
    for (auto [from, n] :
         {std::pair{facts.comm.data(), e.comm_len}, std::pair{facts.filename.data(), e.filename_len},
          std::pair{facts.cgroup_path.data(), e.cgroup_len}}) {
        if (n != 0)
            std::memcpy(at, from, n);
        at += n;
    }
    uint64_t cost = cost_of(e);
    store(seq, std::move(e), cost);
}

void StreamLog::keep_for_all(uint64_t seq, const Line& line) {
    StreamEntry e;
    e.line = line;
    e.everyone = true;
    uint64_t cost = cost_of(e);
    store(seq, std::move(e), cost);
}

void StreamLog::store(uint64_t seq, StreamEntry entry, uint64_t cost) {
    if (capacity_ == 0)
        return;
    // Kept seqs are contiguous: a seq that does not follow starts afresh.
    if (seq != first_kept_ + entries_.size()) {
        entries_.clear();
        bytes_ = 0;
        first_kept_ = seq;
    }
    while (!entries_.empty() && bytes_ + cost > capacity_) {
        bytes_ -= cost_of(entries_.front());
        entries_.pop_front();
        ++first_kept_;
    }
    if (cost > capacity_) { // bigger than the whole buffer: not kept
        first_kept_ = seq + 1;
        return;
    }
    entries_.push_back(std::move(entry));
    bytes_ += cost;
}

const StreamEntry* StreamLog::find(uint64_t seq) const {
    if (seq < first_kept_ || seq - first_kept_ >= entries_.size())
        return nullptr;
    return &entries_[seq - first_kept_];
}

bool StreamLog::wanted(const StreamEntry& e, const Subscription& s, const ProcessTable& table) const {
    if (e.everyone)
        return true;
    const char* text = reinterpret_cast<const char*>(e.data.get() + e.chain_len);
    MatchFacts f;
    f.kind = e.kind;
    f.uid = e.uid;
    f.pid = e.pid;
    f.ppid = e.ppid;
    f.comm = {text, e.comm_len};
    f.filename = {text + e.comm_len, e.filename_len};
    f.cgroup_path = {text + e.comm_len + e.filename_len, e.cgroup_len};
    f.chain = std::span<const Pid>(e.data.get(), e.chain_len);
    f.chain_cut = e.chain_cut;
    return s.matches(f, table);
}

} // namespace execmond
