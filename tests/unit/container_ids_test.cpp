// Container membership from cgroup paths, with each runtime's real naming
// (as docker, podman, containerd, cri-o, the kubelet, systemd-nspawn and lxc
// create them).
#include "container_ids.hpp"

#include <catch2/catch_test_macros.hpp>

#include <string>

using namespace execmond;

namespace {

const std::string id = "4f797c539e6c745de61a93ca3ff892358ecbcaccd8414d5db545c38428142970";
const std::string id2 = "9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d";

struct Expect {
    std::string path, runtime, id, name, pod;
};

} // namespace

TEST_CASE("each runtime's cgroup naming gives its runtime, id or name, and pod", "[container]") {
    const std::string pod = "2e0e4d6b-1b5f-4d63-9a5e-7e3b7fd2e0a1";
    const std::string pod_ = "2e0e4d6b_1b5f_4d63_9a5e_7e3b7fd2e0a1";
    const Expect cases[] = {
        // docker: systemd driver, cgroupfs driver, rootless, systemd inside
        {"/system.slice/docker-" + id + ".scope", "docker", id, "", ""},
        {"/docker/" + id, "docker", id, "", ""},
        {"/user.slice/user-1000.slice/user@1000.service/user.slice/docker-" + id + ".scope", "docker", id, "",
         ""},
        {"/system.slice/docker-" + id + ".scope/init.scope", "docker", id, "", ""},
        // docker in docker: the inner container
        {"/docker/" + id + "/docker/" + id2, "docker", id2, "", ""},
        // podman: root, rootless, a pod's member, cgroupfs, systemd inside
        {"/machine.slice/libpod-" + id + ".scope", "podman", id, "", ""},
        {"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id + ".scope", "podman", id, "",
         ""},
        {"/machine.slice/machine-libpod_pod_" + id2 + ".slice/libpod-" + id + ".scope", "podman", id, "", ""},
        {"/libpod_parent/libpod-" + id, "podman", id, "", ""},
        {"/machine.slice/libpod-" + id + ".scope/container/init.scope", "podman", id, "", ""},
        // containerd under Kubernetes (systemd driver), nerdctl
        {"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + pod_ +
             ".slice/cri-containerd-" + id + ".scope",
         "containerd", id, "", pod},
        {"/kubepods.slice/kubepods-pod" + pod_ + ".slice/cri-containerd-" + id + ".scope", "containerd", id,
         "", pod},
        {"/system.slice/nerdctl-" + id + ".scope", "containerd", id, "", ""},
        // the kubelet's cgroupfs driver: no runtime in the name
        {"/kubepods/burstable/pod" + pod + "/" + id, "cri", id, "", pod},
        {"/kubepods/pod" + pod + "/" + id, "cri", id, "", pod},
        // cri-o, both drivers
        {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + pod_ + ".slice/crio-" + id +
             ".scope",
         "cri-o", id, "", pod},
        {"/kubepods/besteffort/pod" + pod + "/crio-" + id, "cri-o", id, "", pod},
        // systemd-nspawn: machinectl's template unit (payload), a registered
        // scope, an escaped name
        {"/machine.slice/systemd-nspawn@web1.service/payload", "nspawn", "", "web1", ""},
        {"/machine.slice/systemd-nspawn@web1.service/payload/system.slice/cron.service", "nspawn", "", "web1",
         ""},
        {"/machine.slice/machine-web1.scope", "nspawn", "", "web1", ""},
        {"/machine.slice/machine-my\\x2dbox.scope", "nspawn", "", "my-box", ""},
        {"/machine.slice/systemd-nspawn@my\\x2dbox.service", "nspawn", "", "my-box", ""},
        // docker inside an nspawn machine: the inner one
        {"/machine.slice/systemd-nspawn@web1.service/payload/system.slice/docker-" + id + ".scope", "docker",
         id, "", ""},
        // lxc 4+ / LXD, lxc 3, older lxc
        {"/lxc.payload.c1", "lxc", "", "c1", ""},
        {"/lxc.payload.c1/init.scope", "lxc", "", "c1", ""},
        {"/lxc.payload/c1", "lxc", "", "c1", ""},
        {"/lxc/c1", "lxc", "", "c1", ""},
        {"/machine.slice/machine-lxc\\x2d4242\\x2dc1.scope", "libvirt-lxc", "", "lxc-4242-c1", ""},
    };
    for (const auto& c : cases) {
        CAPTURE(c.path);
        Container got = parse_container(c.path);
        CHECK(got.runtime == c.runtime);
        CHECK(got.id == c.id);
        CHECK(got.name == c.name);
        CHECK(got.pod_uid == c.pod);
    }
}

TEST_CASE("host cgroups, runtimes' monitors and near misses are no container", "[container]") {
    const std::string not_in[] = {
        "",
        "/",
        "/init.scope",
        "/system.slice/docker.service",
        "/system.slice/containerd.service",
        "/user.slice/user-1000.slice/session-3.scope",
        // monitors: outside the container they watch
        "/machine.slice/libpod-conmon-" + id + ".scope",
        "/kubepods.slice/kubepods-besteffort.slice/crio-conmon-" + id + ".scope",
        "/lxc.monitor.c1",
        "/machine.slice/systemd-nspawn@web1.service/supervisor",
        "/machine.slice/machine-web1.scope/supervisor",
        // a VM's qemu, registered with machined
        "/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope",
        // not 64 lowercase hex
        "/system.slice/docker-" + id.substr(1) + ".scope",
        "/system.slice/docker-" + id + "0.scope",
        "/system.slice/docker-4F797C539E6C745DE61A93CA3FF892358ECBCACCD8414D5DB545C38428142970.scope",
        "/docker/notanid",
        // a bare 64-hex directory is only a container below docker/ or a pod
        "/" + id,
        "/other/" + id,
        // lxc/ only at the top
        "/a/lxc/c1",
        "/system.slice/systemd-nspawn@.service",
    };
    for (const auto& p : not_in) {
        CAPTURE(p);
        Container got = parse_container(p);
        CHECK(got.runtime.empty());
        CHECK(got.id.empty());
        CHECK(got.name.empty());
        CHECK(got.empty());
    }
}

TEST_CASE("a pod's own cgroup has a pod uid but no container", "[container]") {
    Container got = parse_container("/kubepods.slice/kubepods-burstable.slice/"
                                    "kubepods-burstable-pod2e0e4d6b_1b5f_4d63_9a5e_7e3b7fd2e0a1.slice");
    CHECK(got.runtime.empty());
    CHECK(got.pod_uid == "2e0e4d6b-1b5f-4d63-9a5e-7e3b7fd2e0a1");
    CHECK_FALSE(got.empty());
    // "pod..." outside kubepods is just a name.
    CHECK(parse_container("/system.slice/pod2e0e4d6b-1b5f-4d63-9a5e-7e3b7fd2e0a1").pod_uid.empty());
}
