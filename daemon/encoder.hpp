// Event -> one JSON line (nlohmann/json), in the stream's fixed field names
// (proto/stream.schema.json, docs/protocol.md).
#pragma once

#include "boot_clock.hpp"
#include "event.hpp"
#include "process_table.hpp"

#include <cstdint>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace execmond {

struct LostCounts {
    uint64_t fork = 0;
    uint64_t exec = 0;
    uint64_t exit = 0;
    uint64_t total() const { return fork + exec + exit; }
};

// What the table knows around an event, looked up by the caller.
struct Lineage {
    const ProcessInfo* self = nullptr;
    const ProcessInfo* parent = nullptr;
    const std::vector<const ProcessInfo*>* ancestors = nullptr; // exec only
    std::string_view cgroup_path;                               // empty if unknown
};

class Encoder {
public:
    Encoder(const BootClock& clock, const std::vector<std::string>& redact_patterns);

    std::string encode(const Event& e, const Lineage& lineage) const;
    std::string lost(const LostCounts& counts, std::string_view reason) const;

    // Splits the NUL-separated argument area into argv (a missing final NUL
    // means the last argument was cut).
    static std::vector<std::string_view> split_args(std::string_view args);

private:
    const BootClock& clock_;
    std::vector<std::regex> redact_;
};

} // namespace execmond
