// Process trees of a known shape (built by tools/lineage_tool.c) and the
// ground truth to compare execmond's lines with: /proc as the kernel sees it
// while the processes live, and what the tree itself reports on stdout.
#pragma once

#include "harness.hpp"

#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <sys/types.h>
#include <vector>

namespace execmond::itest {

// tests/integration/tools/lineage_tool, next to the test binary (or
// $LINEAGE_TOOL).
std::string lineage_tool();

// One process (and all it starts) in a process group of its own, with pipes on
// its stdin and stdout. The destructor kills whatever is left of the group.
class Tree {
public:
    explicit Tree(const std::vector<std::string>& argv);
    ~Tree();
    Tree(const Tree&) = delete;

    pid_t pid() const { return pid_; }
    void write_line(const std::string& line);
    void close_stdin(); // EOF for every "block" in the tree
    // The numbers of the next stdout line that starts with `word`, e.g.
    // expect("orphan") -> {pid, fork_ppid, new_ppid}; nullopt on timeout.
    std::optional<std::vector<long>> expect(const std::string& word, std::chrono::milliseconds timeout = 10s);
    // Exit status, or -1 on timeout.
    int wait(std::chrono::milliseconds timeout = 20s);

private:
    pid_t pid_ = -1;
    int in_ = -1;
    int out_ = -1;
    std::string buf_;
    bool reaped_ = false;
};

struct ProcStat {
    pid_t pid = 0;
    pid_t ppid = 0;
    uint64_t start_ticks = 0;
    std::string comm;
};
std::optional<ProcStat> proc_stat(pid_t pid);
std::string proc_key(pid_t pid);            // "pid:start_ticks", as execmond spells it
std::string proc_exe(pid_t pid);            // readlink /proc/PID/exe
std::vector<pid_t> proc_parents(pid_t pid); // parent, grandparent, ... up to pid 1
std::vector<pid_t> proc_children(pid_t pid);
// Waits until `pid` has a descendant `depth` levels down whose cmdline holds
// `word`; returns it (0 on timeout).
pid_t wait_descendant(pid_t pid, unsigned depth, const std::string& word,
                      std::chrono::milliseconds timeout = 10s);
uint64_t vm_rss_kib(pid_t pid);
// Whether `pid` has a library whose path contains `name` mapped (libasan: a sanitizer build).
bool maps_library(pid_t pid, const std::string& name);
// Ids of the BPF objects a process holds open ("map_id", "prog_id" or
// "link_id" in /proc/PID/fdinfo): robust to other BPF users on the machine.
std::set<int> bpf_ids_of(pid_t pid, const std::string& kind);
// `bpftool map show` of the map called `name` that `pid` holds.
std::optional<json> bpf_map_info(pid_t pid, const std::string& name);
// Entries of the map called `name` that `pid` holds (bpftool map dump).
std::optional<json> bpf_map_dump(pid_t pid, const std::string& name);
size_t live_process_count();

// Every line a client received, and ways to wait for and find lines in it.
class Stream {
public:
    // With `keep`, fork/exec/exit lines that contain none of its strings
    // are dropped unparsed: the machine's other processes, on a busy machine.
    explicit Stream(const std::string& socket, std::vector<std::string> keep = {});

    // Reads until `done()` holds or the timeout; returns done().
    bool wait(const std::function<bool()>& done, std::chrono::milliseconds timeout = 15s);
    const json* find(const std::function<bool(const json&)>& pred) const;
    std::vector<const json*> all(const std::function<bool(const json&)>& pred) const;
    // The first line of `type` for `pid` (optionally whose argv[1] is `arg1`).
    const json* line(const char* type, pid_t pid, const std::string& arg1 = "") const;
    // Waits for that line.
    const json* await(const char* type, pid_t pid, const std::string& arg1 = "",
                      std::chrono::milliseconds timeout = 15s);
    size_t index_of(const json* l) const; // position on the stream
    // Sends {"type":"stats"} and returns the reply (other lines are kept).
    std::optional<json> stats(std::chrono::milliseconds timeout = 10s);

    Client client;
    std::vector<std::string> keep;
    std::deque<json> lines; // a deque: pointers to lines stay valid as more arrive
};

// Pids of an exec line's ancestors, nearest first.
std::vector<pid_t> ancestor_pids(const json& exec);

} // namespace execmond::itest
