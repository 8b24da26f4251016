// Which file, exactly: what a stat(2) says that changes when the file is
// replaced (new inode) or rewritten in place (new size or times).
#pragma once

#include <cstdint>
#include <functional>
#include <sys/stat.h>

namespace execmond {

struct FileIdentity {
    uint64_t dev = 0;
    uint64_t ino = 0;
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;

    bool operator==(const FileIdentity&) const = default;
    static FileIdentity of(const struct stat& st);
};

// What an exec record says of the file it ran (the kernel's inode at exec):
// enough to tell that a file opened later is that file.
struct RecordedFile {
    uint64_t ino = 0;
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    bool matches(const FileIdentity& f) const {
        return f.ino == ino && f.size == size && f.mtime_ns == mtime_ns;
    }
};

struct FileIdentityHash {
    size_t operator()(const FileIdentity& f) const {
        uint64_t h = f.ino * 0x9e3779b97f4a7c15ull ^ f.dev;
        h ^= (static_cast<uint64_t>(f.mtime_ns) + f.size) * 0xff51afd7ed558ccdull;
        return static_cast<size_t>(h ^ static_cast<uint64_t>(f.ctime_ns));
    }
};

inline FileIdentity FileIdentity::of(const struct stat& st) {
    return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
            static_cast<uint64_t>(st.st_size), st.st_mtim.tv_sec * 1'000'000'000ll + st.st_mtim.tv_nsec,
            st.st_ctim.tv_sec * 1'000'000'000ll + st.st_ctim.tv_nsec};
}

} // namespace execmond
