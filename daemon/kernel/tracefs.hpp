// tracefs for the classic-tracepoint probes: making sure it is mounted, and
// reading where tracepoint fields sit from the events' format files instead
// of assuming one kernel's layout.
#pragma once

#include "execmond_config.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace execmond {

// Where tracefs is mounted with events available: "/sys/kernel/tracing" or
// "/sys/kernel/debug/tracing", or nullopt.
std::optional<std::string> find_tracefs();

// Ensures tracefs is mounted; unmounts on destruction only if it did the
// mount itself, so a system's own tracefs is left alone.
class TracefsMount {
public:
    // Mounting (at /sys/kernel/tracing) needs CAP_SYS_ADMIN. Throws
    // std::runtime_error("mount tracefs on /sys/kernel/tracing: <strerror>").
    static TracefsMount ensure();

    const std::string& path() const { return path_; }
    bool mounted_by_us() const { return mounted_by_us_; }

    TracefsMount(TracefsMount&& other) noexcept;
    TracefsMount& operator=(TracefsMount&& other) noexcept;
    TracefsMount(const TracefsMount&) = delete;
    TracefsMount& operator=(const TracefsMount&) = delete;
    ~TracefsMount();

private:
    TracefsMount(std::string path, bool mounted_by_us)
        : path_(std::move(path)), mounted_by_us_(mounted_by_us) {}
    void release() noexcept;

    std::string path_;
    bool mounted_by_us_ = false;
};

// Offset of `field` in <tracefs_root>/events/<category>/<event>/format, e.g.
// field_offset(root, "sched", "sched_process_exec", "filename") == 8. Throws
// std::runtime_error naming the file and field if either is missing.
uint32_t field_offset(const std::string& tracefs_root, const std::string& category, const std::string& event,
                      const std::string& field);

// Offset of `field` in the text of a format file; nullopt if absent.
std::optional<uint32_t> parse_field_offset(std::string_view format_text, std::string_view field);

// The classic tracepoint fields the probes read: sched_process_exec's
// filename (__data_loc) and old_pid, task_newtask's pid and clone_flags, and
// sched_process_exit's group_dead where the kernel has it (else 0).
execmond_tp_layout read_tp_layout(const std::string& tracefs_root);

} // namespace execmond
