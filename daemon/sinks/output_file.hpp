// The live output file: opened for appending with the configured mode and
// group, and written in whole lines only. A write that fails part-way (the
// disk filled up) is cut back to the end of the last complete line, so a
// reader tailing the file never sees half a line.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace execmond {

class OutputFile {
public:
    OutputFile() = default;
    ~OutputFile();
    OutputFile(OutputFile&& other) noexcept;
    OutputFile& operator=(OutputFile&& other) noexcept;
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;

    struct Opened {
        std::string error;   // empty: open; else "output file PATH: open: reason"
        std::string warning; // mode or group could not be set (the file is still usable)
    };
    // Creates `path` if needed (and its directory), appends to it; sets its
    // mode and, if given, its group, whether it was new or not.
    Opened open(const std::string& path, mode_t mode, std::optional<gid_t> group);
    bool is_open() const { return fd_ >= 0; }
    // Bytes in the file (from fstat at open, then what append wrote).
    uint64_t size() const { return size_; }

    struct Appended {
        size_t complete = 0; // pieces written whole, from the first
        int error = 0;       // errno of the write that failed; 0 if every piece was written
    };
    // Writes the pieces in order with as few writev(2) calls as it can.
    Appended append(std::span<const std::string_view> pieces);
    // fdatasync(2); returns 0 or errno.
    int sync();
    void close();

private:
    int fd_ = -1;
    uint64_t size_ = 0;
};

} // namespace execmond
