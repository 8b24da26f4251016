#include "digest.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <openssl/evp.h>
#include <unistd.h>
#include <vector>

namespace execmond {

namespace {

using Context = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

std::string hex(const unsigned char* bytes, unsigned n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s(2 * n, '0');
    for (unsigned i = 0; i < n; ++i) {
        s[2 * i] = digits[bytes[i] >> 4];
        s[2 * i + 1] = digits[bytes[i] & 15];
    }
    return s;
}

Context start(const EVP_MD* md) {
    Context c(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (c && EVP_DigestInit_ex(c.get(), md, nullptr) != 1)
        c.reset();
    return c;
}

std::string finish(EVP_MD_CTX* c) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (EVP_DigestFinal_ex(c, out, &n) != 1)
        return {};
    return hex(out, n);
}

} // namespace

bool digest_file(int fd, bool sha256, bool md5, Digests& out, std::string& error) {
    Context s(nullptr, &EVP_MD_CTX_free), m(nullptr, &EVP_MD_CTX_free);
    if ((sha256 && !(s = start(EVP_sha256()))) || (md5 && !(m = start(EVP_md5())))) {
        error = "OpenSSL digest context";
        return false;
    }
    std::vector<unsigned char> buf(1 << 20);
    off_t at = 0;
    while (true) {
        ssize_t n = pread(fd, buf.data(), buf.size(), at);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            error = std::string("read: ") + std::strerror(errno);
            return false;
        }
        if (n == 0)
            break;
        if ((s && EVP_DigestUpdate(s.get(), buf.data(), static_cast<size_t>(n)) != 1) ||
            (m && EVP_DigestUpdate(m.get(), buf.data(), static_cast<size_t>(n)) != 1)) {
            error = "OpenSSL digest update";
            return false;
        }
        at += n;
    }
    if (s)
        out.sha256 = finish(s.get());
    if (m)
        out.md5 = finish(m.get());
    return true;
}

} // namespace execmond
