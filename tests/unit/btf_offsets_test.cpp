#include "btf_offsets.hpp"

#include <bpf/btf.h>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unistd.h>

using namespace execmond;
using Catch::Matchers::ContainsSubstring;

namespace {

constexpr const char* vmlinux = "/sys/kernel/btf/vmlinux";

// A file under /tmp removed at scope exit.
class TempFile {
public:
    TempFile() {
        char name[] = "/tmp/execmond-btf-XXXXXX";
        int fd = mkstemp(name);
        REQUIRE(fd >= 0);
        close(fd);
        path_ = name;
    }
    ~TempFile() { std::filesystem::remove(path_); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    const std::string& path() const { return path_; }
    void write(std::string_view data) const {
        std::ofstream out(path_, std::ios::binary | std::ios::trunc);
        out.write(data.data(), static_cast<std::streamsize>(data.size()));
        REQUIRE(out.good());
    }

private:
    std::string path_;
};

using BtfPtr = std::unique_ptr<btf, decltype(&btf__free)>;

// Ways the synthetic kernel can differ from a good one.
struct FakeKernel {
    bool real_parent = true;
    bool tgid_bitfield = false;
    bool kuid_is_struct = true;
    bool cred = true;
};

int check(int id) {
    REQUIRE(id > 0);
    return id;
}

void field(btf* b, const char* name, int type, unsigned byte_offset, unsigned bit_size = 0) {
    REQUIRE(btf__add_field(b, name, type, byte_offset * 8, bit_size) == 0);
}

// A small kernel BTF whose offsets are known exactly and that nests fields
// the way real kernels do: anonymous structs and unions (several levels),
// typedef'd structs (kuid_t, atomic_t), qualifiers, a flexible array.
void write_fake_btf(const TempFile& file, const FakeKernel& k = {}) {
    BtfPtr owner(btf__new_empty(), &btf__free);
    REQUIRE(owner);
    btf* b = owner.get();

    int int_t = check(btf__add_int(b, "int", 4, BTF_INT_SIGNED));
    int uint_t = check(btf__add_int(b, "unsigned int", 4, 0));
    int ulong_t = check(btf__add_int(b, "long unsigned int", 8, 0));
    int ull_t = check(btf__add_int(b, "long long unsigned int", 8, 0));
    int u64_t = check(btf__add_typedef(b, "u64", ull_t));
    int pid_t_ = check(btf__add_typedef(b, "pid_t", int_t));
    int uid_t_ = check(btf__add_typedef(b, "uid_t", uint_t));
    int gid_t_ = check(btf__add_typedef(b, "gid_t", uint_t));

    int atomic_s = check(btf__add_struct(b, nullptr, 4));
    field(b, "counter", int_t, 0);
    int atomic_t_ = check(btf__add_typedef(b, "atomic_t", atomic_s));

    int kuid_t_ = uid_t_;
    if (k.kuid_is_struct) {
        int kuid_s = check(btf__add_struct(b, nullptr, 4));
        field(b, "val", uid_t_, 0);
        kuid_t_ = check(btf__add_typedef(b, "kuid_t", kuid_s));
    }
    int kgid_s = check(btf__add_struct(b, nullptr, 4));
    field(b, "val", gid_t_, 0);
    int kgid_t_ = check(btf__add_typedef(b, "kgid_t", kgid_s));
    int const_kgid_t = check(btf__add_const(b, kgid_t_));

    // Pointer targets only need to exist as forward declarations.
    int task_ptr = check(btf__add_ptr(b, check(btf__add_fwd(b, "task_struct", BTF_FWD_STRUCT))));
    int signal_ptr = check(btf__add_ptr(b, check(btf__add_fwd(b, "signal_struct", BTF_FWD_STRUCT))));
    int mm_ptr = check(btf__add_ptr(b, check(btf__add_fwd(b, "mm_struct", BTF_FWD_STRUCT))));
    int pid_ptr = check(btf__add_ptr(b, check(btf__add_fwd(b, "pid", BTF_FWD_STRUCT))));
    int const_pid_ptr = check(btf__add_const(b, pid_ptr));
    int cred_ptr = check(btf__add_ptr(b, check(btf__add_fwd(b, "cred", BTF_FWD_STRUCT))));
    int pidns_ptr = check(btf__add_ptr(b, check(btf__add_fwd(b, "pid_namespace", BTF_FWD_STRUCT))));

    // task_struct: exit_code and real_parent two anonymous levels down.
    int task_inner = check(btf__add_struct(b, nullptr, 16));
    field(b, "exit_code", int_t, 0);
    field(b, "exit_signal", int_t, 4);
    if (k.real_parent)
        field(b, "real_parent", task_ptr, 8);
    int task_union = check(btf__add_union(b, nullptr, 16));
    field(b, "dummy", ulong_t, 0);
    field(b, nullptr, task_inner, 0);
    int task_outer = check(btf__add_struct(b, nullptr, 40));
    field(b, "mm", mm_ptr, 0);
    field(b, nullptr, task_union, 8);
    if (k.tgid_bitfield)
        field(b, "tgid", pid_t_, 24, 20);
    else
        field(b, "tgid", pid_t_, 24);
    field(b, "start_boottime", u64_t, 32);
    check(btf__add_struct(b, "task_struct", 72));
    field(b, "__state", uint_t, 0);
    field(b, nullptr, task_outer, 8);
    field(b, "thread_pid", const_pid_ptr, 48);
    field(b, "signal", signal_ptr, 56);
    field(b, "real_cred", cred_ptr, 64);

    check(btf__add_struct(b, "signal_struct", 48));
    field(b, "sigcnt", atomic_t_, 0);
    field(b, "nr_threads", int_t, 8);
    field(b, "live", atomic_t_, 12);
    field(b, "group_exit_code", int_t, 40);
    field(b, "flags", uint_t, 44);

    // mm_struct: arg_start/arg_end in an anonymous struct in an anonymous struct.
    int mm_args = check(btf__add_struct(b, nullptr, 16));
    field(b, "arg_start", ulong_t, 0);
    field(b, "arg_end", ulong_t, 8);
    int mm_body = check(btf__add_struct(b, nullptr, 56));
    field(b, "start_stack", ulong_t, 0);
    field(b, nullptr, mm_args, 8);
    field(b, "env_start", ulong_t, 24);
    check(btf__add_struct(b, "mm_struct", 64));
    field(b, "pgd", ulong_t, 0);
    field(b, nullptr, mm_body, 8);

    int upid_s = check(btf__add_struct(b, "upid", 16));
    field(b, "nr", int_t, 0);
    field(b, "ns", pidns_ptr, 8);
    int upid_array = check(btf__add_array(b, int_t, upid_s, 0));
    check(btf__add_struct(b, "pid", 40));
    field(b, "count", atomic_t_, 0);
    field(b, "level", uint_t, 4);
    field(b, "tasks", ulong_t, 8);
    field(b, "numbers", upid_array, 40);

    int ns_common = check(btf__add_struct(b, "ns_common", 24));
    field(b, "stashed", ulong_t, 0);
    field(b, "ops", ulong_t, 8);
    field(b, "inum", uint_t, 16);
    check(btf__add_struct(b, "pid_namespace", 64));
    field(b, "pid_allocated", uint_t, 0);
    field(b, "level", uint_t, 24);
    field(b, "ns", ns_common, 32);

    if (k.cred) {
        check(btf__add_struct(b, "cred", 32));
        field(b, "usage", atomic_t_, 0);
        field(b, "uid", kuid_t_, 4);
        field(b, "gid", kgid_t_, 8);
        field(b, "euid", kuid_t_, 20);
        field(b, "egid", const_kgid_t, 24);
    }

    __u32 size = 0;
    const void* raw = btf__raw_data(b, &size);
    REQUIRE(raw);
    file.write(std::string_view(static_cast<const char*>(raw), size));
}

// Offset of a direct (not nested) member, found independently of the code
// under test; nullopt if the kernel nests it.
std::optional<uint32_t> direct_member_offset(const char* path, const char* type, const char* name) {
    BtfPtr b(btf__parse(path, nullptr), &btf__free);
    REQUIRE(b);
    int id = btf__find_by_name_kind(b.get(), type, BTF_KIND_STRUCT);
    REQUIRE(id > 0);
    const btf_type* t = btf__type_by_id(b.get(), id);
    const btf_member* m = btf_members(t);
    for (int i = 0; i < btf_vlen(t); ++i, ++m)
        if (std::string_view(btf__name_by_offset(b.get(), m->name_off)) == name)
            return btf_member_bit_offset(t, i) / 8;
    return std::nullopt;
}

} // namespace

TEST_CASE("offsets sum along anonymous structs and unions and look through typedefs", "[btf]") {
    TempFile file;
    write_fake_btf(file);
    auto r = resolve_task_offsets(file.path());
    INFO(r.error);
    REQUIRE(r.offsets);
    const auto& o = *r.offsets;
    CHECK(o.valid == 1);
    CHECK(o.task_tgid == 32);
    CHECK(o.task_real_parent == 24);
    CHECK(o.task_start_boottime == 40);
    CHECK(o.task_exit_code == 16);
    CHECK(o.task_signal == 56);
    CHECK(o.task_mm == 8);
    CHECK(o.task_thread_pid == 48);
    CHECK(o.signal_live == 12);
    CHECK(o.signal_flags == 44);
    CHECK(o.signal_group_exit_code == 40);
    CHECK(o.mm_arg_start == 16);
    CHECK(o.mm_arg_end == 24);
    CHECK(o.pid_level == 4);
    CHECK(o.pid_numbers == 40);
    CHECK(o.upid_size == 16);
    CHECK(o.upid_nr == 0);
    CHECK(o.upid_ns == 8);
    CHECK(o.pidns_inum == 48);
    CHECK(o.cred_euid == 20);
    CHECK(o.cred_egid == 24);
    CHECK(o.task_real_cred == 64);
}

TEST_CASE("describe names every field with its offset", "[btf]") {
    TempFile file;
    write_fake_btf(file);
    auto r = resolve_task_offsets(file.path());
    REQUIRE(r.offsets);
    CHECK(describe(*r.offsets) ==
          "task_struct.tgid=32 task_struct.real_parent=24 task_struct.start_boottime=40 "
          "task_struct.exit_code=16 task_struct.signal=56 task_struct.mm=8 task_struct.thread_pid=48 "
          "signal_struct.live.counter=12 signal_struct.flags=44 signal_struct.group_exit_code=40 "
          "mm_struct.arg_start=16 mm_struct.arg_end=24 pid.level=4 pid.numbers=40 sizeof(upid)=16 "
          "upid.nr=0 upid.ns=8 pid_namespace.ns.inum=48 cred.euid.val=20 cred.egid.val=24 "
          "task_struct.real_cred=64");
}

TEST_CASE("a missing field is an error naming the file, struct and field", "[btf]") {
    TempFile file;
    write_fake_btf(file, {.real_parent = false});
    auto r = resolve_task_offsets(file.path());
    CHECK_FALSE(r.offsets);
    CHECK(r.error == "btf " + file.path() + ": struct task_struct has no field real_parent");
}

TEST_CASE("a missing struct is an error naming it", "[btf]") {
    TempFile file;
    write_fake_btf(file, {.cred = false});
    auto r = resolve_task_offsets(file.path());
    CHECK_FALSE(r.offsets);
    CHECK(r.error == "btf " + file.path() + ": no struct cred");
}

TEST_CASE("a bitfield is refused rather than read as a whole word", "[btf]") {
    TempFile file;
    write_fake_btf(file, {.tgid_bitfield = true});
    auto r = resolve_task_offsets(file.path());
    CHECK_FALSE(r.offsets);
    CHECK(r.error == "btf " + file.path() + ": task_struct.tgid is a bitfield");
}

TEST_CASE("a path through a non-struct member is an error", "[btf]") {
    TempFile file;
    write_fake_btf(file, {.kuid_is_struct = false});
    auto r = resolve_task_offsets(file.path());
    CHECK_FALSE(r.offsets);
    CHECK(r.error == "btf " + file.path() + ": cred.euid is not a struct or union, so has no field val");
}

TEST_CASE("a missing file is an error naming the path", "[btf]") {
    auto r = resolve_task_offsets("/nonexistent/execmond/vmlinux.btf");
    CHECK_FALSE(r.offsets);
    CHECK(r.error == "btf /nonexistent/execmond/vmlinux.btf: No such file or directory");
}

TEST_CASE("a file that is not BTF is an error saying so", "[btf]") {
    TempFile file;
    file.write("this is not BTF\n");
    auto r = resolve_task_offsets(file.path());
    CHECK_FALSE(r.offsets);
    CHECK_THAT(r.error, ContainsSubstring("btf " + file.path() + ": not a BTF file"));
}

TEST_CASE("the running kernel's BTF resolves to plausible offsets", "[btf][live]") {
    if (access(vmlinux, R_OK) != 0)
        SKIP("no readable kernel BTF at /sys/kernel/btf/vmlinux");
    auto r = resolve_task_offsets(vmlinux);
    INFO(r.error);
    REQUIRE(r.offsets);
    const auto& o = *r.offsets;
    INFO(describe(o));
    CHECK(o.valid == 1);

    // Pointers and u64s are naturally aligned on 64-bit kernels.
    for (uint32_t p : {o.task_real_parent, o.task_signal, o.task_mm, o.task_thread_pid, o.task_real_cred,
                       o.task_start_boottime, o.mm_arg_start, o.pid_numbers}) {
        CHECK(p != 0);
        CHECK(p % 8 == 0);
    }
    // Layouts stable for many kernel generations.
    CHECK(o.upid_size == 16);
    CHECK(o.upid_nr == 0);
    CHECK(o.upid_ns == 8);
    CHECK(o.pid_level == 4);   // after refcount_t count
    CHECK(o.signal_live == 4); // after refcount_t sigcnt
    CHECK(o.mm_arg_end == o.mm_arg_start + 8);
    CHECK(o.cred_egid == o.cred_euid + 4);
    CHECK(o.task_exit_code != 0);
    CHECK(o.signal_flags != 0);
    CHECK(o.signal_group_exit_code != 0);
    CHECK(o.pidns_inum != 0);

    // task_struct's fields sit at top level on kernels built without
    // randstruct; where they do, a plain scan must agree.
    if (auto pid = direct_member_offset(vmlinux, "task_struct", "pid"))
        CHECK(o.task_tgid == *pid + 4);
    if (auto tgid = direct_member_offset(vmlinux, "task_struct", "tgid"))
        CHECK(o.task_tgid == *tgid);
    if (auto parent = direct_member_offset(vmlinux, "task_struct", "real_parent"))
        CHECK(o.task_real_parent == *parent);
    if (auto cred = direct_member_offset(vmlinux, "task_struct", "real_cred"))
        CHECK(o.task_real_cred == *cred);
    if (auto level = direct_member_offset(vmlinux, "pid", "level"))
        CHECK(o.pid_level == *level);
}
