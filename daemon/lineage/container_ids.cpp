#include "container_ids.hpp"

#include <algorithm>

namespace execmond {

namespace {

bool is_hex64(std::string_view s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

// A pod UID as the kubelet writes it: a UUID (36), or a static pod's
// 32-hex hash; `_` already turned back into `-`.
bool is_pod_uid(std::string_view s) {
    return s.size() >= 32 && s.size() <= 36 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-';
           });
}

std::string_view without(std::string_view s, std::string_view suffix) {
    return s.ends_with(suffix) ? s.substr(0, s.size() - suffix.size()) : s;
}

// "<prefix><64hex>[.scope]" -> the id, else empty.
std::string_view id_after(std::string_view c, std::string_view prefix) {
    if (!c.starts_with(prefix))
        return {};
    std::string_view id = without(c.substr(prefix.size()), ".scope");
    return is_hex64(id) ? id : std::string_view{};
}

// systemd's unit-name escaping ("-" is "\x2d") undone.
std::string unescape_unit(std::string_view s) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x' && hex(s[i + 2]) >= 0 && hex(s[i + 3]) >= 0) {
            out.push_back(static_cast<char>(hex(s[i + 2]) * 16 + hex(s[i + 3])));
            i += 3;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

std::string pod_uid(std::string_view s) {
    std::string uid(s);
    std::replace(uid.begin(), uid.end(), '_', '-');
    return is_pod_uid(uid) ? uid : std::string{};
}

// A Kubernetes pod cgroup, either driver's shape.
std::string pod_of(std::string_view c, bool below_kubepods) {
    if (c.starts_with("kubepods-") && c.ends_with(".slice")) {
        auto at = c.rfind("-pod");
        if (at != std::string_view::npos)
            return pod_uid(without(c.substr(at + 4), ".slice"));
    } else if (below_kubepods && c.starts_with("pod")) {
        return pod_uid(c.substr(3));
    }
    return {};
}

void set_id(Container& out, std::string_view runtime, std::string_view id) {
    out.runtime = runtime;
    out.id.assign(id);
    out.name.clear();
}

// An empty runtime: not (or no longer) in a container.
void set_name(Container& out, std::string_view runtime, std::string name) {
    out.runtime = runtime;
    out.id.clear();
    out.name = std::move(name);
}

} // namespace

Container parse_container(std::string_view path) {
    Container out;
    std::string_view parent;
    bool below_kubepods = false;
    size_t depth = 0;
    while (!path.empty()) {
        auto slash = path.find('/');
        std::string_view c = path.substr(0, slash);
        path.remove_prefix(slash == std::string_view::npos ? path.size() : slash + 1);
        if (c.empty())
            continue;
        ++depth;
        if (std::string uid = pod_of(c, below_kubepods); !uid.empty())
            out.pod_uid = std::move(uid);
        below_kubepods |= c == "kubepods" || c == "kubepods.slice";

        std::string_view id;
        if (!(id = id_after(c, "docker-")).empty())
            set_id(out, "docker", id);
        else if (parent == "docker" && is_hex64(c))
            set_id(out, "docker", c);
        else if (!c.starts_with("libpod-conmon-") && !(id = id_after(c, "libpod-")).empty())
            set_id(out, "podman", id);
        else if (!(id = id_after(c, "cri-containerd-")).empty() || !(id = id_after(c, "nerdctl-")).empty())
            set_id(out, "containerd", id);
        else if (!c.starts_with("crio-conmon-") && !(id = id_after(c, "crio-")).empty())
            set_id(out, "cri-o", id);
        else if (parent.starts_with("pod") && !out.pod_uid.empty() && is_hex64(c))
            set_id(out, "cri", c);
        else if (c.starts_with("systemd-nspawn@") && c.ends_with(".service") && c.size() > 23)
            set_name(out, "nspawn", unescape_unit(c.substr(15, c.size() - 23)));
        else if (parent == "machine.slice" && c.starts_with("machine-") && c.ends_with(".scope") &&
                 c.size() > 14) {
            std::string name = unescape_unit(c.substr(8, c.size() - 14));
            // systemd-machined also registers libvirt's machines: a VM's
            // qemu is no container.
            std::string_view runtime = name.starts_with("qemu-")  ? ""
                                       : name.starts_with("lxc-") ? "libvirt-lxc"
                                                                  : "nspawn";
            set_name(out, runtime, runtime.empty() ? std::string{} : std::move(name));
        } else if (c.starts_with("lxc.payload.") && c.size() > 12)
            set_name(out, "lxc", std::string(c.substr(12)));
        else if ((parent == "lxc.payload" || (parent == "lxc" && depth == 2)) && !c.starts_with("lxc."))
            set_name(out, "lxc", std::string(c));
        else if (c == "supervisor" && out.runtime == "nspawn" &&
                 (parent.starts_with("systemd-nspawn@") || parent.starts_with("machine-")))
            // systemd-nspawn itself, beside the container's "payload".
            set_name(out, {}, {}); // the pod, if any, stays
        parent = c;
    }
    return out;
}

} // namespace execmond
