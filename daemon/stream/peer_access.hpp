// Who may read the stream: the peer's credentials as the kernel recorded them
// at connect() (SO_PEERCRED, SO_PEERGROUPS), checked against --allow-uid and
// --allow-group. No NSS lookups: they can block the loop (sssd, LDAP), give
// the passwd database's groups rather than the peer's own, and know nothing
// of uids without a passwd entry (DynamicUser=, containers).
#pragma once

#include "client.hpp"

#include <string>
#include <sys/types.h>
#include <variant>
#include <vector>

namespace execmond {

// The peer of a connected Unix socket; the error text when SO_PEERCRED fails
// (the caller refuses the peer: an unknown peer is nobody's). A failing
// SO_PEERGROUPS leaves groups_known false.
std::variant<PeerCredentials, std::string> read_peer(int fd);

class AccessPolicy {
public:
    AccessPolicy(std::vector<uid_t> uids, std::vector<gid_t> gids)
        : uids_(std::move(uids)), gids_(std::move(gids)) {}

    // Anyone when neither list is set (the socket file's mode and group
    // decide); else root, a listed uid, or a peer whose gid or one of whose
    // supplementary groups is listed.
    bool allows(const PeerCredentials& peer) const;
    bool checks_groups() const { return !gids_.empty(); }

private:
    std::vector<uid_t> uids_;
    std::vector<gid_t> gids_;
};

} // namespace execmond
