// Event -> one JSON line (nlohmann/json), in the stream's fixed field names
// (proto/stream.schema.json, docs/protocol.md).
#pragma once

#include "boot_clock.hpp"
#include "container_ids.hpp"
#include "event.hpp"
#include "exe_provenance.hpp"
#include "json_writer.hpp"
#include "line.hpp"
#include "process_table.hpp"
#include "redactor.hpp"
#include "tty_name.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace execmond {

// What the table knows around an event, looked up by the caller.
struct Lineage {
    const ProcessInfo* self = nullptr;
    const ProcessInfo* parent = nullptr;
    const std::vector<const ProcessInfo*>* ancestors = nullptr; // exec only
    std::string_view cgroup_path;                               // empty if unknown
    const Container* container = nullptr;                       // parsed from cgroup_path
    const ExeFacts* exe = nullptr;                              // exec, with --hash/--packages
};

// Encodes on the hot path without allocating once warm (json_writer.hpp):
// one reused writer, the wall-clock date formatted once per second, and each
// ancestor's entry cached until what it shows of the process changes.
class Encoder {
public:
    // ancestor_argv: argv on each ancestor entry of exec lines (--ancestor-argv).
    Encoder(const BootClock& clock, const std::vector<std::string>& redact_patterns,
            bool ancestor_argv = false);

    // parent_argv, and each ancestor's argv: the head of the table's
    // argument area, cut at a whole byte count (*_truncated then).
    static constexpr size_t max_lineage_argv = 1024;

    // `seq`: the line's number in the stream (StreamLog); 0 leaves it out.
    std::string encode(const Event& e, const Lineage& lineage, uint64_t seq = 0) const;
    // The same line, shared as it is queued (one allocation, no copy between).
    Line encode_line(const Event& e, const Lineage& lineage, uint64_t seq = 0) const;
    // A `process` line (the answer to a snapshot request): the process as the
    // table knows it, argv escaped and redacted as on exec lines.
    std::string process(const ProcessInfo& p, const ProcessInfo* parent, std::string_view cgroup_path,
                        const Container* container = nullptr) const;
    // The `exe_hash` line: what the worker found after the exec line went out.
    std::string exe_hash(const PendingExec& p, const ExeFacts& f, KtimeNs now_boottime_ns,
                         uint64_t seq) const;
    // The wall clock was stepped: nothing formatted before may be reused.
    void clock_changed() const { cached_second_ = INT64_MIN; }

    // Splits the NUL-separated argument area into argv (a missing final NUL
    // means the last argument was cut).
    static std::vector<std::string_view> split_args(std::string_view args);

    // Does --redact mask this argv element? (For lines besides exec's: gap.)
    bool redacts(std::string_view arg) const;

    // Ancestor entries cached (bounded; for tests and stats).
    size_t cached_ancestors() const { return ancestor_cache_.size(); }

private:
    // One ancestor's JSON object, valid while the fields it shows are equal.
    struct CachedAncestor {
        uint64_t start_ticks = 0;
        KtimeNs start_ns = 0;
        std::string comm;
        std::string filename;
        std::string args; // only with ancestor_argv
        std::string json;
    };
    static constexpr size_t max_cached_ancestors = 256; // ~100 KiB at most

    // What the identity members of a line show (exec lines: cwd .. tty;
    // exit lines: cwd, exe and the ids the table keeps). Equal facts, equal
    // bytes: the members of the last line are reused while they are equal,
    // which is most lines (a storm, a build: one directory, few binaries).
    struct IdentityFacts {
        std::string_view cwd, exe, interpreter;
        ExeFile exe_file;
        uint32_t auid = unset_id, session_id = unset_id, tty_dev = 0;
        bool known = false, audit_known = false, cwd_truncated = false, exe_truncated = false;
        bool fileless = false, secure_exec = false;
        bool operator==(const IdentityFacts&) const = default;
    };
    // A run of members kept with the facts it was written from.
    struct CachedIdentity {
        IdentityFacts facts; // its views point into the strings below
        std::string cwd, exe, interpreter, json;
        bool valid = false;
        bool matches(const IdentityFacts& f) const { return valid && facts == f; }
        void keep(const IdentityFacts& f, std::string_view written);
    };
    // parent_argv and its flags, kept with the argument area they show.
    struct CachedArgv {
        std::string args, json;
        bool truncated = false, valid = false;
    };

    std::string_view time_text(KtimeNs boottime_ns) const;
    std::string_view mtime_text(int64_t mtime_ns) const;
    void write_ancestor(const ProcessInfo& a) const;
    struct ArgvKeys;
    void write_exe_facts(const ExeFacts& f) const;
    void write_argv(std::string_view args, bool truncated, uint32_t argc) const;
    void write_argv(const ArgvKeys& keys, std::string_view args, bool truncated, uint32_t argc = 0) const;
    void write_lineage_argv(const ArgvKeys& keys, const ProcessInfo& p) const;
    void write_container(const Container& c) const;
    void write_errno(int err) const;
    // cwd, exe, exe_file, ... (exec lines); cwd, exe, auid, session_id, tty
    // as the table knows them (exit and process lines).
    void write_identity(const Event& e) const;
    // cache: the members of the last such line, reused while equal (exit lines).
    void write_identity(const ProcessIdentity& id, CachedIdentity* cache = nullptr) const;
    void write_parent_argv(const ProcessInfo& parent) const;
    void write_ids(bool audit_known, uint32_t auid, uint32_t session_id, uint32_t tty_dev) const;
    bool write_path(const JsonKey& key, const JsonKey& escaped, std::string_view path) const;
    void write_event(const Event& e, const Lineage& lineage, uint64_t seq) const;
    std::string take_line() const; // the document written, as one line

    const BootClock& clock_;
    Redactor redact_;
    bool ancestor_argv_ = false;
    std::unique_ptr<JsonWriter> writer_; // reused by every encode()
    mutable std::unordered_map<Pid, CachedAncestor> ancestor_cache_;
    mutable CachedIdentity exec_identity_, exit_identity_;
    mutable CachedArgv parent_argv_;
    mutable std::vector<uint32_t> escaped_at_;
    mutable TtyNames ttys_;
    // "YYYY-MM-DDTHH:MM:SS" of cached_second_, then ".nnnnnnnnnZ" per line.
    mutable int64_t cached_second_ = INT64_MIN;
    mutable std::array<char, 48> time_buf_{};
    mutable std::string time_fallback_;
    // exe_file's mtime text, for the last mtime formatted.
    mutable int64_t cached_mtime_ns_ = 0;
    mutable std::string cached_mtime_;
};

} // namespace execmond
