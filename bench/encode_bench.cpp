// The daemon's per-record work without the kernel or the sockets: the
// Pipeline (decode -> process table -> ancestors -> encode -> fan out), on records shaped like the exec storm
// (a spawner six levels below pid 1 forking, exec'ing and reaping `noop`).
//
//   encode_bench [--records N] [--depth D] [--dump FILE] [--replay-buffer BYTES[K|M|G]] [--no-client]
//
// Prints CPU ns per record for the whole path and for encoding alone. --dump writes
// every encoded line to FILE, so two builds can be compared byte for byte.
// --replay-buffer keeps the lines as the daemon does for clients resuming with
// since (docs/protocol.md, "Resuming"); --no-client leaves the fan-out empty
// (then only the replay buffer makes lines be encoded).
#include "execmond_event.h"
#include "pipeline.hpp"
#include "record_builder.hpp"
#include "record_decoder.hpp"
#include "redactor.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>
#include <string>
#include <string_view>
#include <vector>

using namespace execmond;

// Every operator new of the process counted: allocations per line in steady
// state are one of the encoder's targets (docs/benchmarks.md). One thread.
namespace {
uint64_t allocations = 0;
} // namespace

void* operator new(size_t n) {
    ++allocations;
    if (void* p = std::malloc(n == 0 ? 1 : n))
        return p;
    throw std::bad_alloc();
}
void* operator new[](size_t n) {
    return operator new(n);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, size_t) noexcept {
    std::free(p);
}

namespace {

execmond_header header(__u32 type, __u32 pid, __u32 ppid, std::string_view comm, __u64 now, __u64 start) {
    execmond_header h{};
    h.type = type;
    h.ktime_ns = now;
    h.start_boottime_ns = start;
    h.cgroup_id = 1;
    h.pid = pid;
    h.tid = pid;
    h.ppid = ppid;
    h.ns_pid = pid;
    h.pidns_id = 4026531836u;
    h.parent_source = EXECMOND_PARENT_BTF;
    std::memcpy(h.comm, comm.data(), std::min(comm.size(), sizeof(h.comm)));
    return h;
}

std::vector<char> fork_rec(__u32 pid, __u32 ppid, __u64 now) {
    execmond_fork f{};
    f.hdr = header(EXECMOND_REC_FORK, pid, ppid, "storm", now, now);
    f.hdr.size = sizeof(f);
    std::memcpy(f.parent_comm, "storm", 5);
    std::vector<char> b(sizeof(f));
    std::memcpy(b.data(), &f, sizeof(f));
    return b;
}

// As the storm's exec records are on this machine: the identity members
// (cwd, exe, exe_file, audit ids) filled as the probes fill them.
std::vector<char> exec_rec(__u32 pid, __u32 ppid, __u64 now, __u64 start, std::string_view args) {
    test::Identity id;
    id.cwd = "/work/main";
    id.exe = "/work/main/build/bench/noop";
    id.auid = 0;
    id.tty_dev = 0;
    std::vector<char> b =
        test::with_identity(test::exec_record(pid, ppid, "noop", "/work/bench/out/noop", args), id);
    execmond_exec x;
    std::memcpy(&x, b.data(), sizeof(x));
    execmond_header h = header(EXECMOND_REC_EXEC, pid, ppid, "noop", now, start);
    h.size = x.hdr.size;
    h.unknown = x.hdr.unknown;
    x.hdr = h;
    x.euid = x.egid = 0;
    x.argc = 3;
    std::memcpy(b.data(), &x, sizeof(x));
    return b;
}

std::vector<char> exit_rec(__u32 pid, __u32 ppid, __u64 now, __u64 start) {
    execmond_exit x{};
    x.hdr = header(EXECMOND_REC_EXIT, pid, ppid, "noop", now, start);
    x.hdr.size = sizeof(x);
    std::vector<char> b(sizeof(x));
    std::memcpy(b.data(), &x, sizeof(x));
    return b;
}

// This thread's CPU time: figures that hold on a busy machine, where wall
// time would count the time other processes ran.
std::chrono::nanoseconds thread_cpu_now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// The one subscriber: counts the bytes, and writes them with --dump.
struct LineSink : Subscriber {
    explicit LineSink(const char* path) : out(path ? std::fopen(path, "w") : nullptr) {}
    ~LineSink() override {
        if (out)
            std::fclose(out);
    }
    const Subscription& subscription() const override { return all; }
    void send(const Line& line) override {
        bytes += line->size();
        if (out)
            std::fwrite(line->data(), 1, line->size(), out);
    }
    Subscription all;
    FILE* out;
    size_t bytes = 0;
};

} // namespace

int main(int argc, char** argv) {
    size_t n = 300000;
    unsigned depth = 64;
    const char* dump = nullptr;
    uint64_t replay_bytes = 0;
    bool no_client = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--records" && i + 1 < argc)
            n = std::strtoul(argv[++i], nullptr, 10);
        else if (a == "--depth" && i + 1 < argc)
            depth = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
        else if (a == "--dump" && i + 1 < argc)
            dump = argv[++i];
        else if (a == "--replay-buffer" && i + 1 < argc) {
            // BYTES with an optional K, M or G, as the daemon's --replay-buffer.
            char* end = nullptr;
            replay_bytes = std::strtoull(argv[++i], &end, 10);
            std::string unit(end);
            replay_bytes <<= unit == "K" ? 10 : unit == "M" ? 20 : unit == "G" ? 30 : 0;
            if (unit != "" && unit != "K" && unit != "M" && unit != "G") {
                std::fprintf(stderr, "encode_bench: --replay-buffer %s: not BYTES[K|M|G]\n", argv[i]);
                return 2;
            }
        } else if (a == "--no-client")
            no_client = true;
        else {
            std::fprintf(stderr, "usage: encode_bench [--records N] [--depth D] [--dump FILE] "
                                 "[--replay-buffer BYTES[K|M|G]] [--no-client]\n");
            return 2;
        }
    }

    // Records first, so the timed loop does only the daemon's work.
    const __u32 spawner = 5000;
    const __u64 t0 = 100'000'000'000ull;
    std::vector<std::vector<char>> records;
    records.reserve(n);
    for (size_t i = 0; records.size() < n; ++i) {
        __u32 pid = 10000 + static_cast<__u32>(i % 20000);
        __u64 now = t0 + i * 100'000;
        std::string args = "noop";
        args += '\0';
        args += "execmond-bench-ab12cd34-" + std::to_string(i);
        args += '\0';
        args += std::to_string(now);
        args += '\0';
        records.push_back(fork_rec(pid, spawner, now));
        records.push_back(exec_rec(pid, spawner, now + 30'000, now, args));
        records.push_back(exit_rec(pid, spawner, now + 60'000, now));
    }
    records.resize(n);

    ProcessTable table(ProcReader("/nonexistent"));
    const char* chain[][2] = {{"systemd", "/usr/lib/systemd/systemd"},
                              {"sshd", "/usr/sbin/sshd"},
                              {"sshd", "/usr/sbin/sshd"},
                              {"bash", "/usr/bin/bash"},
                              {"python3", "/usr/bin/python3.11"},
                              {"storm", "/work/bench/out/storm"}};
    for (__u32 k = 0; k < 6; ++k) {
        ProcSnapshot s;
        s.pid = k == 0 ? 1 : 4995 + k;
        s.ppid = k == 0 ? 0 : (k == 1 ? 1 : 4994 + k);
        s.start_ticks = 1 + k;
        s.comm = chain[k][0];
        s.exe = chain[k][1];
        table.seed_one(s);
    }

    BootClock clock(1767225600ll * 1'000'000'000ll);
    Encoder encoder(clock, {});
    CgroupPaths cgroups; // id 1 is the cgroup2 root: "/"
    Fanout fanout;
    LineSink sink(dump);
    if (!no_client)
        fanout.add(sink);
    StreamLog log(replay_bytes);
    PipelineConfig config;
    config.ancestors_depth = depth;
    config.log = &log;
    Pipeline pipeline(config, table, cgroups, encoder, fanout);

    // The second half is the steady state: the table, the caches and the
    // buffers have grown to the storm's size by then.
    const size_t half = records.size() / 2;
    uint64_t steady_allocs = 0;
    auto start = thread_cpu_now();
    for (size_t i = 0; i < records.size(); ++i) {
        if (i == half)
            steady_allocs = allocations;
        const auto& r = records[i];
        pipeline.on_record(r.data(), r.size());
        if (r.size() == sizeof(execmond_exit))
            table.evict_expired(reinterpret_cast<const execmond_header*>(r.data())->ktime_ns);
    }
    auto total = thread_cpu_now() - start;
    steady_allocs = allocations - steady_allocs;

    // Encoding alone: the same records' events against the lineage the table
    // now has, decoded first so that the timed loop only encodes (one clock
    // read around the loop: a read per line would cost more than a line).
    std::vector<const ProcessInfo*> ancestors;
    table.ancestors(spawner, depth, ancestors);
    Lineage lineage{table.find(spawner), table.find(spawner), &ancestors, "/"};
    Lineage no_ancestors = lineage; // fork and exit lines list none
    no_ancestors.ancestors = nullptr;
    std::vector<Event> events;
    events.reserve(records.size());
    for (const auto& r : records)
        events.push_back(std::get<Event>(decode_record(r.data(), r.size())));
    size_t encoded_bytes = 0;
    uint64_t encode_allocs = allocations;
    auto e0 = thread_cpu_now();
    for (const Event& e : events)
        encoded_bytes += encoder.encode_line(e, e.kind == EventKind::exec ? lineage : no_ancestors)->size();
    auto encode_time = thread_cpu_now() - e0;
    encode_allocs = allocations - encode_allocs;
    size_t bytes = sink.bytes;
    auto ns = [&](std::chrono::nanoseconds d) {
        return static_cast<double>(d.count()) / static_cast<double>(n);
    };

    // --redact's worst case a user can choose: '.*secret' on 8,000 bytes that
    // never match (a backtracking engine retries from every byte).
    Redactor hostile({".*secret"});
    const std::string arg(8000, 'a');
    const int rounds = 2000;
    bool any = false;
    auto r0 = std::chrono::steady_clock::now();
    for (int i = 0; i < rounds; ++i)
        any |= hostile.matches(arg);
    auto redact_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - r0);
    double redact_ns_per_kib = static_cast<double>(redact_ns.count()) / rounds / (8000.0 / 1024.0);

    std::printf(
        "{\"records\":%zu,\"bytes_per_line\":%.0f,\"ns_per_record\":%.0f,\"encode_ns_per_record\":%.0f,"
        "\"redact_hostile_ns_per_kib\":%.0f,\"replay_limit\":%llu,\"replay_lines\":%llu,"
        "\"replay_bytes_per_line\":%.0f,\"allocs_per_record\":%.2f,\"allocs_per_encode\":%.2f,"
        "\"encoded_bytes\":%zu}\n",
        n, static_cast<double>(bytes) / static_cast<double>(n),
        ns(std::chrono::duration_cast<std::chrono::nanoseconds>(total)), ns(encode_time),
        any ? -1.0 : redact_ns_per_kib, static_cast<unsigned long long>(log.capacity()),
        static_cast<unsigned long long>(log.lines()),
        log.lines() ? static_cast<double>(log.bytes()) / static_cast<double>(log.lines()) : 0.0,
        static_cast<double>(steady_allocs) / static_cast<double>(records.size() - half),
        static_cast<double>(encode_allocs) / static_cast<double>(n), encoded_bytes);
    return 0;
}
