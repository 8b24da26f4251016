// Reads and digests executables on a thread of its own, so no line waits for
// a disk: jobs in, results posted back to the event loop.
#pragma once

#include "digest.hpp"
#include "dpkg_index.hpp"
#include "file_identity.hpp"
#include "unique_fd.hpp"

#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace execmond {

struct HashJob {
    uint64_t id = 0;
    UniqueFd file; // opened on the loop, through the process while it lived
    FileIdentity identity;
    bool sha256 = false;
    std::optional<PackageRef> package; // compare with dpkg's md5sums when set
    std::string path;                  // as dpkg lists it (for md5sums)
};

struct HashResult {
    uint64_t id = 0;
    FileIdentity identity;
    std::string sha256;           // empty if not asked or failed
    std::optional<bool> modified; // vs dpkg's md5sums; nullopt: not checked
    std::string error;            // why reading failed, if it did
};

class HashWorker {
public:
    // `done` runs on `io`'s thread for every job taken. `dpkg` is read by
    // the worker only; the loop swaps it between jobs with set_index().
    HashWorker(boost::asio::io_context& io, size_t max_queued, std::function<void(HashResult)> done);
    ~HashWorker(); // stops the thread; queued jobs are dropped
    HashWorker(const HashWorker&) = delete;

    // False when the queue is full (the job is dropped, the caller says so).
    bool submit(HashJob job);
    void set_index(std::shared_ptr<const DpkgIndex> index);
    size_t queued() const;

private:
    void run();

    boost::asio::io_context& io_;
    size_t max_queued_;
    std::function<void(HashResult)> done_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<HashJob> jobs_;
    std::shared_ptr<const DpkgIndex> index_;
    bool stopping_ = false;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0); // see run()
    std::thread thread_;                                    // last: starts once the rest exists
};

} // namespace execmond
