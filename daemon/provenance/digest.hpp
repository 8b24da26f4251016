// SHA-256 (and MD5, what dpkg's md5sums record) of a whole open file.
#pragma once

#include <string>

namespace execmond {

struct Digests {
    std::string sha256; // lowercase hex; empty if not asked for
    std::string md5;    // lowercase hex; empty if not asked for
};

// Reads `fd` from offset 0 to its end with pread(2), so the caller's offset
// does not matter. On failure returns false and says why in `error`.
bool digest_file(int fd, bool sha256, bool md5, Digests& out, std::string& error);

} // namespace execmond
