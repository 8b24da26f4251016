#include "output_file.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <utility>

namespace execmond {

OutputFile::~OutputFile() {
    close();
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), size_(std::exchange(other.size_, 0)) {}

OutputFile& OutputFile::operator=(OutputFile&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = std::exchange(other.fd_, -1);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

OutputFile::Opened OutputFile::open(const std::string& path, mode_t mode, std::optional<gid_t> group) {
    close();
    Opened result;
    auto failed = [&](const char* what) {
        result.error = "output file " + path + ": " + what + ": " + std::strerror(errno);
        close();
        return result;
    };
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(parent, ec);
        if (ec) {
            result.error =
                "output file " + path + ": create directory " + parent.string() + ": " + ec.message();
            return result;
        }
    }
    fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, mode);
    if (fd_ < 0)
        return failed("open");
    struct stat st {};
    if (fstat(fd_, &st) != 0)
        return failed("fstat");
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        return failed("not a regular file");
    }
    size_ = static_cast<uint64_t>(st.st_size);
    // The umask (0077 under the unit) narrowed what open() created, and a file
    // that already existed keeps what it had: the configured mode is the policy.
    if ((st.st_mode & 07777) != mode && fchmod(fd_, mode) != 0)
        result.warning = "output file " + path + ": chmod: " + std::strerror(errno);
    if (group && st.st_gid != *group && fchown(fd_, static_cast<uid_t>(-1), *group) != 0)
        result.warning = "output file " + path + ": chgrp to gid " + std::to_string(*group) + ": " +
                         std::strerror(errno) + " (is the daemon's user in that group?)";
    return result;
}

OutputFile::Appended OutputFile::append(std::span<const std::string_view> pieces) {
    Appended r;
    size_t i = 0;   // the piece being written
    size_t off = 0; // bytes of piece i already written
    auto skip_empty = [&] {
        while (i < pieces.size() && off == 0 && pieces[i].empty())
            ++i;
    };
    skip_empty();
    std::array<iovec, 1024> iov{};
    while (i < pieces.size()) {
        size_t n = 0;
        for (size_t k = i; k < pieces.size() && n < iov.size(); ++k) {
            size_t skip = k == i ? off : 0;
            if (pieces[k].size() > skip)
                iov[n++] = {const_cast<char*>(pieces[k].data() + skip), pieces[k].size() - skip};
        }
        ssize_t w = ::writev(fd_, iov.data(), static_cast<int>(n));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            r.error = w < 0 ? errno : EIO;
            break;
        }
        size_ += static_cast<uint64_t>(w);
        for (auto left = static_cast<size_t>(w); left > 0;) {
            size_t rest = pieces[i].size() - off;
            if (left < rest) {
                off += left;
                break;
            }
            left -= rest;
            ++i;
            off = 0;
        }
        skip_empty();
    }
    if (r.error != 0 && off != 0) {
        // Half a line went out: cut the file back to where that line began.
        // The end comes from fstat, not size_, in case someone truncated the
        // file under us (copytruncate).
        struct stat st {};
        if (fstat(fd_, &st) == 0 && static_cast<uint64_t>(st.st_size) >= off) {
            auto end = static_cast<off_t>(static_cast<uint64_t>(st.st_size) - off);
            if (ftruncate(fd_, end) == 0)
                size_ = static_cast<uint64_t>(end);
        }
    }
    r.complete = i;
    return r;
}

int OutputFile::sync() {
    if (fd_ < 0)
        return 0;
    return fdatasync(fd_) == 0 ? 0 : errno;
}

void OutputFile::close() {
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
    size_ = 0;
}

} // namespace execmond
