// A cgroup v2 path -> the container it belongs to, from the names container
// runtimes give their cgroups (no runtime is asked: the path is all we have
// on the hot path). Shapes recognised, innermost match wins (a container in
// a container is reported as the inner one):
//   docker      .../docker-<64hex>.scope        (systemd cgroup driver)
//               .../docker/<64hex>              (cgroupfs driver)
//   podman      .../libpod-<64hex>.scope, .../libpod-<64hex>
//   containerd  .../cri-containerd-<64hex>.scope, .../nerdctl-<64hex>.scope
//   cri-o       .../crio-<64hex>.scope, .../crio-<64hex>
//   cri         .../kubepods/<qos>/pod<uid>/<64hex> (kubelet's cgroupfs
//               driver: the runtime is not in the name)
//   nspawn      .../systemd-nspawn@NAME.service, .../machine-NAME.scope
//   lxc         .../lxc.payload.NAME, .../lxc.payload/NAME, /lxc/NAME
// Kubernetes pods: kubepods-<qos>-pod<uid with _>.slice or pod<uid>.
// A runtime's own monitor (libpod-conmon-, crio-conmon-, lxc.monitor.,
// nspawn's "supervisor") is outside the container: no match.
#pragma once

#include <string>
#include <string_view>

namespace execmond {

struct Container {
    std::string_view runtime; // "docker", "podman", ...; empty: not in a container
    std::string id;           // 64 lowercase hex; empty for runtimes that name (nspawn, lxc)
    std::string name;         // nspawn machine / lxc container name (unescaped); else empty
    std::string pod_uid;      // Kubernetes pod UID, with dashes; may be set without a container

    bool empty() const { return runtime.empty() && pod_uid.empty(); }
};

Container parse_container(std::string_view cgroup_path);

} // namespace execmond
