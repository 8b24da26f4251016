#include "hash_worker.hpp"

#include <boost/asio/post.hpp>

namespace execmond {

HashWorker::HashWorker(boost::asio::io_context& io, size_t max_queued, std::function<void(HashResult)> done)
    : io_(io), max_queued_(max_queued), done_(std::move(done)), thread_([this] { run(); }) {}

HashWorker::~HashWorker() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
}

bool HashWorker::submit(HashJob job) {
    {
        std::lock_guard lock(mu_);
        if (jobs_.size() >= max_queued_)
            return false;
        jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
    return true;
}

void HashWorker::set_index(std::shared_ptr<const DpkgIndex> index) {
    std::lock_guard lock(mu_);
    index_ = std::move(index);
}

size_t HashWorker::queued() const {
    std::lock_guard lock(mu_);
    return jobs_.size();
}

void HashWorker::run() {
    while (true) {
        HashJob job;
        std::shared_ptr<const DpkgIndex> index;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
            if (stopping_)
                return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
            index = index_;
        }
        HashResult r;
        r.id = job.id;
        r.identity = job.identity;
        std::string expected_md5;
        if (job.package && index)
            expected_md5 = index->recorded_md5(*job.package, job.path);
        Digests d;
        if (digest_file(job.file.get(), job.sha256, !expected_md5.empty(), d, r.error)) {
            r.sha256 = std::move(d.sha256);
            if (!expected_md5.empty())
                r.modified = d.md5 != expected_md5;
        }
        job.file.reset();
        // Runs on the loop's thread, where the worker is destroyed too: a
        // result posted before that is dropped, not delivered to the dead.
        boost::asio::post(io_, [this, alive = std::weak_ptr<int>(alive_), r = std::move(r)]() mutable {
            if (alive.lock())
                done_(std::move(r));
        });
    }
}

} // namespace execmond
