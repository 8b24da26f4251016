// Command line and configuration file (same keys; flags win), parsed with
// Boost.Program_options and validated into typed settings.
#pragma once

#include "exit_codes.hpp"
#include "log.hpp"
#include "probes.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace execmond {

struct Options {
    std::string config_path = "/etc/execmond/execmond.conf";
    std::string socket_path = "/run/execmond/events.sock";
    mode_t socket_mode = 0660;
    std::string socket_group = "execmond";
    std::vector<uid_t> allow_uids;
    std::vector<gid_t> allow_gids;
    std::vector<std::string> redact;
    ProbeMode probe_mode = ProbeMode::automatic;
    std::string btf_path;
    std::vector<pid_t> follow;
    unsigned ancestors_depth = 64;
    uint64_t ring_size = 8u << 20;
    uint64_t latency_us = 1000;
    uint64_t wakeup_bytes = 0; // 0: a quarter of the ring
    uint64_t client_queue_bytes = 4u << 20;
    unsigned client_timeout_s = 30;
    bool hash_sha256 = false;
    uint64_t hash_max_size = 256ull << 20;
    size_t hash_cache_entries = 16384;
    bool packages = false;
    log::Target log_target = log::Target::automatic;
    log::Priority log_level = log::Priority::info;
};

inline constexpr unsigned max_ancestors_depth = 64;

struct ParseResult {
    std::optional<Options> options; // set when the daemon should run
    int exit_code = exit_ok;        // otherwise: exit with this ...
    std::string text;               // ... after printing this (help, version or error)
};

ParseResult parse_options(int argc, const char* const argv[]);

// "8M" -> 8388608; accepts plain bytes and K/M/G (powers of 1024) suffixes.
std::optional<uint64_t> parse_size(std::string_view text);

} // namespace execmond
