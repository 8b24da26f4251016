#include "probe_plan.hpp"

#include <catch2/catch_test_macros.hpp>

using namespace execmond;

namespace {
KernelFacts kernel(bool btf, int ring_buffer = 1) {
    KernelFacts k;
    k.release = "5.10.0-32-amd64";
    k.ring_buffer = ring_buffer;
    k.kernel_btf = btf;
    if (!btf)
        k.kernel_btf_error = "none at /sys/kernel/btf/vmlinux";
    return k;
}
ProbePlan plan(ProbeMode mode, const std::string& btf, const KernelFacts& k) {
    auto r = plan_probes(mode, btf, k);
    REQUIRE(std::holds_alternative<ProbePlan>(r));
    return std::get<ProbePlan>(r);
}
std::string error(ProbeMode mode, const std::string& btf, const KernelFacts& k) {
    auto r = plan_probes(mode, btf, k);
    REQUIRE(std::holds_alternative<PlanError>(r));
    return std::get<PlanError>(r).message;
}
bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}
} // namespace

TEST_CASE("auto picks tp_btf with kernel BTF, the BTF file without, fork-map with neither", "[probe_plan]") {
    CHECK(plan(ProbeMode::automatic, "", kernel(true)).set == ProbeSet::tp_btf);
    auto with_file = plan(ProbeMode::automatic, "/var/lib/btf/5.10.btf", kernel(false));
    CHECK(with_file.set == ProbeSet::btf_file);
    CHECK(with_file.btf_file == "/var/lib/btf/5.10.btf");
    auto neither = plan(ProbeMode::automatic, "", kernel(false));
    CHECK(neither.set == ProbeSet::fork_map);
    CHECK(has(neither.why, "--btf FILE"));
}

TEST_CASE("the kernel's own BTF wins over a --btf file, and the log says it is unused", "[probe_plan]") {
    auto p = plan(ProbeMode::automatic, "/x.btf", kernel(true));
    CHECK(p.set == ProbeSet::tp_btf);
    CHECK(has(p.why, "/x.btf is not used"));
}

TEST_CASE("classic mode takes the BTF file if given, else the fork map, even on a BTF kernel",
          "[probe_plan]") {
    CHECK(plan(ProbeMode::classic, "/sys/kernel/btf/vmlinux", kernel(true)).set == ProbeSet::btf_file);
    CHECK(plan(ProbeMode::classic, "", kernel(true)).set == ProbeSet::fork_map);
    CHECK(plan(ProbeMode::classic, "", kernel(false)).set == ProbeSet::fork_map);
}

TEST_CASE("a kernel that cannot run us gets one line: release, what is missing, what to do", "[probe_plan]") {
    SECTION("no BPF ring buffer") {
        auto m = error(ProbeMode::automatic, "", kernel(true, 0));
        CHECK(has(m, "Linux 5.10.0-32-amd64"));
        CHECK(has(m, "ring buffer"));
        CHECK(has(m, "Linux 5.8 or newer"));
    }
    SECTION("the bpf() call itself refused") {
        auto m = error(ProbeMode::automatic, "", kernel(true, -1 /* -EPERM */));
        CHECK(has(m, "Linux 5.10.0-32-amd64"));
        CHECK(has(m, "seccomp"));
    }
    SECTION("--probe-mode btf without kernel BTF") {
        auto m = error(ProbeMode::btf, "", kernel(false));
        CHECK(has(m, "Linux 5.10.0-32-amd64"));
        CHECK(has(m, "no BTF"));
        CHECK(has(m, "--btf FILE"));
    }
}
