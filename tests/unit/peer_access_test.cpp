// Peer credentials from the kernel and the --allow-uid/--allow-group check.
#include "peer_access.hpp"

#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <sys/socket.h>
#include <unistd.h>

using namespace execmond;

TEST_CASE("read_peer: the connecting process's pid, uid, gid and supplementary groups", "[access]") {
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    auto r = read_peer(sv[0]);
    close(sv[0]);
    close(sv[1]);
    REQUIRE(std::holds_alternative<PeerCredentials>(r));
    const auto& p = std::get<PeerCredentials>(r);
    CHECK(p.pid == getpid());
    CHECK(p.uid == geteuid());
    CHECK(p.gid == getegid());
    std::vector<gid_t> ours(static_cast<size_t>(getgroups(0, nullptr)));
    getgroups(static_cast<int>(ours.size()), ours.data());
    CHECK(p.groups_known);
    auto sorted = [](std::vector<gid_t> v) {
        std::sort(v.begin(), v.end());
        return v;
    };
    CHECK(sorted(p.groups) == sorted(ours));
}

TEST_CASE("read_peer fails, with the reason, where SO_PEERCRED does", "[access]") {
    int p[2];
    REQUIRE(pipe(p) == 0);
    auto r = read_peer(p[0]); // not a socket
    close(p[0]);
    close(p[1]);
    REQUIRE(std::holds_alternative<std::string>(r));
    CHECK(std::get<std::string>(r).find("SO_PEERCRED: ") == 0);
}

TEST_CASE("access: root, listed uids, and members of listed groups by the peer's own groups", "[access]") {
    auto peer = [](uid_t uid, gid_t gid, std::vector<gid_t> groups) {
        PeerCredentials p;
        p.pid = 100;
        p.uid = uid;
        p.gid = gid;
        p.groups = std::move(groups);
        p.groups_known = true;
        return p;
    };
    AccessPolicy open({}, {});
    CHECK(open.allows(peer(65534, 65534, {})));

    AccessPolicy policy({1234}, {4321});
    CHECK(policy.allows(peer(0, 0, {})));
    CHECK(policy.allows(peer(1234, 1234, {})));
    CHECK(policy.allows(peer(2000, 4321, {})));         // primary group
    CHECK(policy.allows(peer(2000, 2000, {10, 4321}))); // supplementary
    // A uid without a passwd entry is judged by the groups it holds.
    CHECK(policy.allows(peer(4000123, 4000123, {4321})));
    CHECK_FALSE(policy.allows(peer(2000, 2000, {10, 11})));
    CHECK_FALSE(policy.allows(peer(65534, 65534, {})));
}
