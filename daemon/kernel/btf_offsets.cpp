#include "btf_offsets.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <unistd.h>

namespace execmond {

namespace {

using BtfPtr = std::unique_ptr<btf, decltype(&btf__free)>;

// Where one execmond_task_offsets field comes from. `path` is a '.'-separated
// member path from `type` (offsets add up along it); empty means
// sizeof(type). `size` is how many bytes the probes read there, so a kernel
// whose field changed width is refused rather than misread; 0 = unchecked.
struct FieldSpec {
    __u32 execmond_task_offsets::*slot;
    const char* type;
    const char* path;
    __u32 size;
};

constexpr __u32 ptr = 8; // the probes read pointers as u64

constexpr FieldSpec specs[] = {
    {&execmond_task_offsets::task_tgid, "task_struct", "tgid", 4},
    {&execmond_task_offsets::task_real_parent, "task_struct", "real_parent", ptr},
    {&execmond_task_offsets::task_start_boottime, "task_struct", "start_boottime", 8},
    {&execmond_task_offsets::task_exit_code, "task_struct", "exit_code", 4},
    {&execmond_task_offsets::task_signal, "task_struct", "signal", ptr},
    {&execmond_task_offsets::task_mm, "task_struct", "mm", ptr},
    {&execmond_task_offsets::task_thread_pid, "task_struct", "thread_pid", ptr},
    {&execmond_task_offsets::signal_live, "signal_struct", "live.counter", 4},
    {&execmond_task_offsets::signal_flags, "signal_struct", "flags", 4},
    {&execmond_task_offsets::signal_group_exit_code, "signal_struct", "group_exit_code", 4},
    {&execmond_task_offsets::mm_arg_start, "mm_struct", "arg_start", 8},
    {&execmond_task_offsets::mm_arg_end, "mm_struct", "arg_end", 8},
    {&execmond_task_offsets::pid_level, "pid", "level", 4},
    // A flexible array on current kernels, numbers[1] on old ones.
    {&execmond_task_offsets::pid_numbers, "pid", "numbers", 0},
    {&execmond_task_offsets::upid_size, "upid", "", 0},
    {&execmond_task_offsets::upid_nr, "upid", "nr", 4},
    {&execmond_task_offsets::upid_ns, "upid", "ns", ptr},
    {&execmond_task_offsets::pidns_inum, "pid_namespace", "ns.inum", 4},
    {&execmond_task_offsets::cred_euid, "cred", "euid.val", 4},
    {&execmond_task_offsets::cred_egid, "cred", "egid.val", 4},
    {&execmond_task_offsets::task_real_cred, "task_struct", "real_cred", ptr},
};

struct Member {
    __u32 type_id;
    __u32 bit_offset; // from the start of the struct searched
    bool bitfield;
};

// The struct/union behind a type id, looking through typedefs and
// qualifiers (kuid_t, atomic_t, const struct ...); null if it is not one.
const btf_type* composite(const btf* b, __u32 type_id) {
    int id = btf__resolve_type(b, type_id);
    if (id < 0)
        return nullptr;
    const btf_type* t = btf__type_by_id(b, id);
    return t && btf_is_composite(t) ? t : nullptr;
}

// Old-style BTF encodes bitfields in the member's int type rather than in
// the member (kind_flag), so both places are checked.
bool is_bitfield(const btf* b, const btf_type* parent, __u32 index) {
    const btf_member* m = btf_members(parent) + index;
    if (btf_member_bitfield_size(parent, index) != 0 || btf_member_bit_offset(parent, index) % 8 != 0)
        return true;
    int id = btf__resolve_type(b, m->type);
    const btf_type* t = id < 0 ? nullptr : btf__type_by_id(b, id);
    return t && btf_is_int(t) && (btf_int_offset(t) != 0 || btf_int_bits(t) != t->size * 8);
}

// Members of anonymous structs/unions belong to the enclosing struct in C
// (mm_struct's arg_start sits in one on recent kernels), so they are
// searched too, with their offset added.
std::optional<Member> find_member(const btf* b, const btf_type* t, std::string_view name) {
    const btf_member* m = btf_members(t);
    for (__u32 i = 0; i < btf_vlen(t); ++i, ++m) {
        const char* member_name = btf__name_by_offset(b, m->name_off);
        if (member_name && *member_name) {
            if (name == member_name)
                return Member{m->type, btf_member_bit_offset(t, i), is_bitfield(b, t, i)};
            continue;
        }
        const btf_type* inner = composite(b, m->type);
        if (!inner)
            continue;
        if (auto found = find_member(b, inner, name)) {
            found->bit_offset += btf_member_bit_offset(t, i);
            return found;
        }
    }
    return std::nullopt;
}

__u32 resolve(const btf* b, const FieldSpec& spec) {
    int struct_id = btf__find_by_name_kind(b, spec.type, BTF_KIND_STRUCT);
    if (struct_id < 0)
        throw std::runtime_error(std::string("no struct ") + spec.type);
    std::string_view path = spec.path;
    if (path.empty()) {
        __s64 size = btf__resolve_size(b, struct_id);
        if (size <= 0)
            throw std::runtime_error(std::string("cannot size struct ") + spec.type);
        return static_cast<__u32>(size);
    }

    const btf_type* t = btf__type_by_id(b, struct_id);
    std::string where = spec.type;
    std::optional<Member> last;
    __u64 bits = 0;
    while (!path.empty()) {
        auto dot = path.find('.');
        std::string_view name = path.substr(0, dot);
        path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
        if (!t)
            throw std::runtime_error(where + " is not a struct or union, so has no field " +
                                     std::string(name));
        last = find_member(b, t, name);
        if (!last)
            throw std::runtime_error((where == spec.type ? "struct " + where : where) + " has no field " +
                                     std::string(name));
        bits += last->bit_offset;
        where += "." + std::string(name);
        t = composite(b, last->type_id);
    }
    if (last->bitfield)
        throw std::runtime_error(where + " is a bitfield");
    if (spec.size) {
        __s64 size = btf__resolve_size(b, last->type_id);
        if (size != spec.size)
            throw std::runtime_error(where + " is " + std::to_string(size) + " bytes, expected " +
                                     std::to_string(spec.size));
    }
    return static_cast<__u32>(bits / 8);
}

std::string label(const FieldSpec& spec) {
    return *spec.path ? std::string(spec.type) + "." + spec.path : "sizeof(" + std::string(spec.type) + ")";
}

} // namespace

BtfOffsetsResult resolve_task_offsets(const std::string& btf_path) {
    const std::string context = "btf " + btf_path + ": ";
    // Checked first so a wrong path reads as such, not as a format error.
    if (access(btf_path.c_str(), R_OK) != 0)
        return {std::nullopt, context + std::strerror(errno)};

    BtfPtr b(btf__parse(btf_path.c_str(), nullptr), &btf__free);
    if (!b) {
        int err = errno;
        char msg[128];
        libbpf_strerror(err, msg, sizeof(msg));
        return {std::nullopt, context + "not a BTF file (raw BTF or ELF with .BTF): " + msg};
    }

    execmond_task_offsets o{};
    try {
        for (const auto& spec : specs)
            o.*spec.slot = resolve(b.get(), spec);
    } catch (const std::runtime_error& e) {
        return {std::nullopt, context + e.what()};
    }
    o.valid = 1;
    return {o, {}};
}

std::string describe(const execmond_task_offsets& o) {
    std::string out;
    for (const auto& spec : specs) {
        if (!out.empty())
            out += ' ';
        out += label(spec) + "=" + std::to_string(o.*spec.slot);
    }
    return out;
}

} // namespace execmond
