#include "exe_provenance.hpp"

#include "log.hpp"

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

namespace execmond {

ExeProvenance::ExeProvenance(boost::asio::io_context& io, ProvenanceConfig config, Late late)
    : io_(io), config_(std::move(config)), late_(std::move(late)), cache_(config_.cache_entries),
      reload_timer_(io) {
    if (enabled())
        worker_ = std::make_unique<HashWorker>(io_, config_.max_queued,
                                               [this](HashResult r) { on_result(std::move(r)); });
}

ExeProvenance::~ExeProvenance() {
    worker_.reset();
    if (loader_.joinable())
        loader_.join();
}

void ExeProvenance::start() {
    if (!config_.packages)
        return;
    load_index();
    watch_dpkg();
}

void ExeProvenance::load_index() {
    if (loading_) {
        reload_ = true; // once more when this load ends: dpkg changed meanwhile
        return;
    }
    if (loader_.joinable())
        loader_.join(); // the previous load, done: it posted its result
    loading_ = true;
    loader_ = std::thread([this] {
        auto index = std::make_shared<const DpkgIndex>(DpkgIndex::load(config_.dpkg_dir));
        boost::asio::post(io_, [this, index] {
            loading_ = false;
            if (!index->error().empty())
                log::warning("--packages: " + index->error() +
                             "; exec lines say no package until it can be read");
            index_ = index;
            ++counts_.index_loads;
            if (worker_)
                worker_->set_index(index_);
            log::info("--packages: " + std::to_string(index->paths()) + " files of " +
                      std::to_string(index->packages()) + " installed packages indexed");
            if (std::exchange(reload_, false))
                load_index();
        });
    });
}

void ExeProvenance::watch_dpkg() {
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0 || inotify_add_watch(fd, config_.dpkg_dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
        log::warning("--packages: watch " + config_.dpkg_dir + ": " + std::strerror(errno) +
                     "; packages installed later are not known until restart");
        if (fd >= 0)
            ::close(fd);
        return;
    }
    inotify_ = std::make_unique<boost::asio::posix::stream_descriptor>(io_, fd);
    read_inotify();
}

void ExeProvenance::read_inotify() {
    inotify_->async_read_some(
        boost::asio::buffer(inotify_buf_), [this](const boost::system::error_code& ec, size_t n) {
            if (ec)
                return;
            bool status_changed = false;
            for (size_t at = 0; at + sizeof(inotify_event) <= n;) {
                auto* ev = reinterpret_cast<const inotify_event*>(inotify_buf_.data() + at);
                if (ev->len && std::strcmp(ev->name, "status") == 0)
                    status_changed = true;
                at += sizeof(inotify_event) + ev->len;
            }
            if (status_changed) {
                // dpkg rewrites status many times in one run: index once it settles.
                reload_timer_.expires_after(std::chrono::seconds(1));
                reload_timer_.async_wait([this](const boost::system::error_code& e) {
                    if (!e)
                        load_index();
                });
            }
            read_inotify();
        });
}

ExeFacts ExeProvenance::on_exec(uint32_t pid, std::string_view exe_path, const RecordedFile* recorded,
                                const std::function<PendingExec()>& pending) {
    ExeFacts f;
    std::string proc_exe = config_.proc_root + "/" + std::to_string(pid) + "/exe";
    std::string link;
    if (exe_path.empty()) { // the probes did not resolve it: the kernel's link, while the process lives
        char buf[4096];
        ssize_t n = readlink(proc_exe.c_str(), buf, sizeof(buf));
        if (n > 0 && static_cast<size_t>(n) < sizeof(buf))
            link.assign(buf, static_cast<size_t>(n));
        exe_path = link;
    }
    if (config_.packages && index_) {
        f.package_known = true;
        if (const PackageRef* p = index_->owner(exe_path))
            f.package = *p;
    }
    bool want_md5 = f.package.has_value();
    if (!config_.sha256 && !want_md5)
        return f;
    auto skip = [&](std::string_view why, uint64_t& count) {
        ++count;
        if (config_.sha256)
            f.skipped = why;
        return f;
    };
    // Through the process while it lives: the very file it runs, even if the
    // path now names another. Once it is gone, the path, and only if the
    // file there is the one the exec record describes.
    UniqueFd fd(::open(proc_exe.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (fd && (fstat(fd.get(), &st) != 0 || (recorded && !recorded->matches(FileIdentity::of(st)))))
        fd.reset(); // gone, or it has exec'd again since
    if (!fd) {
        if (recorded == nullptr || exe_path.empty() || exe_path[0] != '/')
            return skip("gone", counts_.skipped_gone);
        fd = UniqueFd(::open(std::string(exe_path).c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd || fstat(fd.get(), &st) != 0 || !recorded->matches(FileIdentity::of(st)))
            return skip("gone", counts_.skipped_gone);
    }
    if (!S_ISREG(st.st_mode))
        return skip("unreadable", counts_.skipped_unreadable);
    FileIdentity id = FileIdentity::of(st);
    if (const Cached* c = cache_.get(id)) {
        f.sha256 = c->sha256;
        f.modified = c->modified;
        if (config_.sha256 && f.sha256.empty())
            f.skipped = "unreadable";
        return f;
    }
    if (id.size > config_.max_size)
        return skip("too_large", counts_.skipped_too_large);
    HashJob job;
    job.id = next_job_++;
    job.file = std::move(fd);
    job.identity = id;
    job.sha256 = config_.sha256;
    job.package = f.package;
    job.path = std::string(exe_path);
    uint64_t id_no = job.id;
    if (!worker_->submit(std::move(job)))
        return skip("busy", counts_.skipped_busy);
    waiting_.emplace(id_no, Waiting{pending(), f.package, id.size});
    f.pending = true;
    return f;
}

void ExeProvenance::on_result(HashResult r) {
    auto it = waiting_.find(r.id);
    if (it == waiting_.end())
        return;
    Waiting w = std::move(it->second);
    waiting_.erase(it);
    ExeFacts f;
    f.package_known = config_.packages;
    f.package = w.package;
    if (r.error.empty()) {
        ++counts_.hashed;
        counts_.hashed_bytes += w.size;
        f.sha256 = r.sha256;
        f.modified = r.modified;
        cache_.put(r.identity, Cached{r.sha256, r.modified});
    } else {
        ++counts_.skipped_unreadable;
        if (config_.sha256)
            f.skipped = "unreadable";
    }
    late_(w.exec, f);
}

ProvenanceStats ExeProvenance::stats() const {
    ProvenanceStats s = counts_;
    s.cache_entries = cache_.size();
    s.cache_hits = cache_.hits();
    s.cache_misses = cache_.misses();
    s.cache_evictions = cache_.evictions();
    s.queued = waiting_.size();
    if (index_) {
        s.package_paths = index_->paths();
        s.packages = index_->packages();
        s.index_bytes = index_->memory_bytes();
    }
    return s;
}

} // namespace execmond
