// Command line and configuration file (same keys; flags win), parsed with
// Boost.Program_options and validated into typed settings.
#pragma once

#include "exit_codes.hpp"
#include "log.hpp"
#include "probes.hpp"
#include "subscription.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
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
    bool ancestor_argv = false;
    bool exec_failures = false;   // --exec-failures: exec_failed lines
    std::vector<std::string> env; // --env NAME: these variables on exec lines
    uint64_t ring_size = 8u << 20;
    uint64_t latency_us = 1000;
    uint64_t wakeup_bytes = 0; // 0: a quarter of the ring
    ProbeConfig::WakeupTimer wakeup_timer = ProbeConfig::WakeupTimer::automatic;
    uint64_t client_queue_bytes = 4u << 20;
    unsigned client_timeout_s = 30;
    bool hash_sha256 = false;
    uint64_t hash_max_size = 256ull << 20;
    size_t hash_cache_entries = 16384;
    bool packages = false;
    uint64_t replay_buffer_bytes = 64u << 20;    // 0: keep no lines for replay
    std::string state_dir = "/var/lib/execmond"; // empty: no state file
    // The output file (--output-file; empty: none).
    std::string output_file;
    uint64_t output_max_size = 100u << 20; // 0: never rotate
    unsigned output_keep = 5;
    bool output_compress = false;
    mode_t output_mode = 0640;
    std::string output_group = "execmond";
    uint64_t output_queue_bytes = 16u << 20;
    Subscription output_filter; // everything, unless output-filter says otherwise
    // The Prometheus endpoint (--metrics-listen; empty address: none).
    std::string metrics_address;
    uint16_t metrics_port = 0;
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

// "127.0.0.1:9669" or "[::1]:9669" -> address and port; nullopt if either is bad.
std::optional<std::pair<std::string, uint16_t>> parse_listen_address(std::string_view text);

// "8M" -> 8388608; accepts plain bytes and K/M/G (powers of 1024) suffixes.
std::optional<uint64_t> parse_size(std::string_view text);

} // namespace execmond
