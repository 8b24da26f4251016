// The daemon's memory across restarts (<state dir>/state, by default
// /var/lib/execmond/state): which stream it served, how far it got and which
// processes were alive, so that the next start can tell clients what happened
// while it was not running (the gap line, docs/protocol.md "Resuming").
// Written periodically and at stop, atomically (a temporary file, fsync,
// rename, fsync of the directory), by a thread of its own so that a slow
// disk never holds the event loop.
#pragma once

#include "event.hpp"

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

namespace execmond {

struct ProcessKey {
    Pid pid = 0;
    uint64_t start_ticks = 0;
    bool operator==(const ProcessKey&) const = default;
};

struct SavedState {
    std::string stream_id;
    std::string boot_id;
    uint64_t last_seq = 0;
    int64_t written_realtime_ns = 0;
    uint64_t written_boottime_ns = 0;
    bool clean = false;                // written by a clean stop, after the last line
    std::vector<ProcessKey> processes; // alive when written
};

std::string serialize_state(const SavedState& s);
// The state, or why the text is not one (truncated, not JSON, a member
// missing or of the wrong type).
std::variant<SavedState, std::string> parse_state(std::string_view text);

struct LoadedState {
    std::optional<SavedState> state;
    std::string status;  // "ok", "none" (no file), "unreadable" (corrupt or unreadable), "disabled"
    std::string problem; // for the log, when unreadable
};
LoadedState load_state(const std::string& dir);

// Writes `content` as <dir>/state atomically. Returns "" or what failed
// ("write /var/lib/execmond/state.tmp: No space left on device").
std::string write_state_file(const std::string& dir, std::string_view content);

class StateWriter {
public:
    // `dir` empty: writes nothing.
    explicit StateWriter(std::string dir);
    ~StateWriter();
    StateWriter(const StateWriter&) = delete;
    StateWriter& operator=(const StateWriter&) = delete;

    // Queues a write; a newer one replaces a write not yet started.
    void write_async(std::string content);
    // Writes `content` on this thread, before any queued write (at start,
    // so that the first file is there before READY=1).
    void write_sync(std::string_view content);
    // Waits for the writer, then writes `content` on this thread (at stop).
    void write_now(std::string_view content);
    // Writes that failed, for the log (each distinct failure is logged once).
    uint64_t failures() const;

private:
    void run();
    void write(std::string_view content);

    std::string dir_;
    std::mutex write_mutex_; // one write at a time, whichever thread
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::optional<std::string> pending_;
    bool stop_ = false;
    uint64_t failures_ = 0;
    std::string last_problem_;
    std::thread thread_;
};

} // namespace execmond
