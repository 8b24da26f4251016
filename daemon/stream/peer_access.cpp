#include "peer_access.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/socket.h>

namespace execmond {

std::variant<PeerCredentials, std::string> read_peer(int fd) {
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return std::string("SO_PEERCRED: ") + std::strerror(errno);
    if (len != sizeof(cred))
        return "SO_PEERCRED: short answer (" + std::to_string(len) + " bytes)";
    PeerCredentials peer;
    peer.pid = cred.pid;
    peer.uid = cred.uid;
    peer.gid = cred.gid;
    // NGROUPS_MAX is 65536; start small, grow once to what the kernel asks.
    std::vector<gid_t> groups(64);
    for (int attempt = 0; attempt < 2; ++attempt) {
        socklen_t bytes = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &bytes) == 0) {
            groups.resize(bytes / sizeof(gid_t));
            peer.groups = std::move(groups);
            peer.groups_known = true;
            break;
        }
        if (errno != ERANGE)
            break;
        groups.resize(bytes / sizeof(gid_t));
    }
    return peer;
}

bool AccessPolicy::allows(const PeerCredentials& peer) const {
    if (uids_.empty() && gids_.empty())
        return true;
    if (peer.uid == 0 || std::find(uids_.begin(), uids_.end(), peer.uid) != uids_.end())
        return true;
    return std::any_of(gids_.begin(), gids_.end(), [&](gid_t g) {
        return peer.gid == g || std::find(peer.groups.begin(), peer.groups.end(), g) != peer.groups.end();
    });
}

} // namespace execmond
