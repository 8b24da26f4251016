#include "tracefs.hpp"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/mount.h>
#include <utility>

namespace execmond {

namespace {

constexpr const char* tracing_dir = "/sys/kernel/tracing";
// Older systems only have it below debugfs (which automounts it there).
constexpr const char* debugfs_tracing_dir = "/sys/kernel/debug/tracing";

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

bool is_ident_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// "__data_loc char[] filename" -> "filename", "char comm[16]" -> "comm".
std::string_view declared_name(std::string_view decl) {
    decl = trim(decl);
    while (!decl.empty() && decl.back() == ']') {
        auto open = decl.rfind('[');
        if (open == std::string_view::npos)
            return {};
        decl = trim(decl.substr(0, open));
    }
    size_t start = decl.size();
    while (start > 0 && is_ident_char(decl[start - 1]))
        --start;
    return decl.substr(start);
}

bool has_events(const std::string& root) {
    std::error_code ec;
    return std::filesystem::is_directory(root + "/events", ec);
}

} // namespace

std::optional<std::string> find_tracefs() {
    for (const char* root : {tracing_dir, debugfs_tracing_dir})
        if (has_events(root))
            return root;
    return std::nullopt;
}

TracefsMount TracefsMount::ensure() {
    if (auto root = find_tracefs())
        return TracefsMount(*root, false);
    if (mount("tracefs", tracing_dir, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
        throw std::runtime_error(std::string("mount tracefs on ") + tracing_dir + ": " +
                                 std::strerror(errno));
    return TracefsMount(tracing_dir, true);
}

TracefsMount::TracefsMount(TracefsMount&& other) noexcept
    : path_(std::move(other.path_)), mounted_by_us_(std::exchange(other.mounted_by_us_, false)) {}

TracefsMount& TracefsMount::operator=(TracefsMount&& other) noexcept {
    if (this != &other) {
        release();
        path_ = std::move(other.path_);
        mounted_by_us_ = std::exchange(other.mounted_by_us_, false);
    }
    return *this;
}

TracefsMount::~TracefsMount() {
    release();
}

void TracefsMount::release() noexcept {
    // Detached, so probes or readers still holding files in it don't make
    // shutdown fail; nothing useful to do if it fails anyway.
    if (mounted_by_us_)
        umount2(path_.c_str(), MNT_DETACH);
    mounted_by_us_ = false;
}

std::optional<uint32_t> parse_field_offset(std::string_view format_text, std::string_view field) {
    // Lines look like "\tfield:char comm[16];\toffset:12;\tsize:16;\tsigned:0;".
    while (!format_text.empty()) {
        auto eol = format_text.find('\n');
        std::string_view line = trim(format_text.substr(0, eol));
        format_text = eol == std::string_view::npos ? std::string_view{} : format_text.substr(eol + 1);

        constexpr std::string_view field_key = "field:";
        if (!line.starts_with(field_key))
            continue;
        auto semi = line.find(';');
        if (semi == std::string_view::npos ||
            declared_name(line.substr(field_key.size(), semi - field_key.size())) != field)
            continue;

        std::string_view rest = line.substr(semi + 1);
        while (!rest.empty()) {
            auto end = rest.find(';');
            std::string_view attr = trim(rest.substr(0, end));
            rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
            constexpr std::string_view offset_key = "offset:";
            if (!attr.starts_with(offset_key))
                continue;
            std::string_view digits = attr.substr(offset_key.size());
            uint32_t value = 0;
            auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
            if (ec != std::errc{} || ptr != digits.data() + digits.size() || digits.empty())
                return std::nullopt;
            return value;
        }
        return std::nullopt;
    }
    return std::nullopt;
}

uint32_t field_offset(const std::string& tracefs_root, const std::string& category, const std::string& event,
                      const std::string& field) {
    const std::string path = tracefs_root + "/events/" + category + "/" + event + "/format";
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error("read " + path + ": " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        throw std::runtime_error("read " + path + ": " + std::strerror(errno));
    auto offset = parse_field_offset(text.view(), field);
    if (!offset)
        throw std::runtime_error(path + ": no field " + field);
    return *offset;
}

execmond_tp_layout read_tp_layout(const std::string& tracefs_root) {
    execmond_tp_layout tp{};
    tp.exec_filename_loc = field_offset(tracefs_root, "sched", "sched_process_exec", "filename");
    tp.exec_old_pid = field_offset(tracefs_root, "sched", "sched_process_exec", "old_pid");
    tp.newtask_pid = field_offset(tracefs_root, "task", "task_newtask", "pid");
    tp.newtask_clone_flags = field_offset(tracefs_root, "task", "task_newtask", "clone_flags");
    // Optional: only newer kernels say whether the exiting thread was the
    // process's last one.
    std::ifstream exit_format(tracefs_root + "/events/sched/sched_process_exit/format");
    std::ostringstream text;
    text << exit_format.rdbuf();
    tp.exit_group_dead = parse_field_offset(text.view(), "group_dead").value_or(0);
    return tp;
}

} // namespace execmond
