// The output file's rotated generations: PATH.<UTC time>Z, compressed to
// PATH.<UTC time>Z.gz if asked (all but the newest, which a shipper may still
// be reading), pruned to the newest `keep`. Compressing and
// deleting happen on a thread of their own, so compressing a large file never
// delays the writer. The names never change once given (a shipper that tracks
// files by name does not see a rotated file move again), and sort by age.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <thread>

namespace execmond {

struct RotationConfig {
    std::string live_path;
    unsigned keep = 5;
    bool compress = false;
    mode_t mode = 0640;
    std::optional<gid_t> group;
};

class RotatedFiles {
public:
    // Starts the worker, which first tidies what an earlier run left behind
    // (a half-written .gz, files not yet compressed, more than `keep`).
    explicit RotatedFiles(RotationConfig config);
    // Stops after the current step; a compression in progress is abandoned
    // (its file stays uncompressed until the next start).
    ~RotatedFiles();
    RotatedFiles(const RotatedFiles&) = delete;
    RotatedFiles& operator=(const RotatedFiles&) = delete;

    // The name to rename the live file to now: PATH.YYYYMMDDTHHMMSS.uuuuuuZ.
    std::string next_name() const;
    // The live file was renamed to `path`: compress the rotated files before
    // it (if asked), then prune.
    void rotated(std::string path);
    // Blocks until the worker has nothing left to do (tests).
    void wait_idle();

    // Is `name` (a file name, no directory) one of the rotated names of `live_name`?
    static bool is_rotated_name(std::string_view live_name, std::string_view name);

private:
    void run();
    void tidy();
    void compress_older();
    void compress(const std::string& path);
    void prune();

    RotationConfig config_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable idle_;
    std::deque<std::string> jobs_;
    bool busy_ = true; // until the first tidy is done
    std::atomic<bool> stopping_{false};
    std::thread worker_;
};

} // namespace execmond
