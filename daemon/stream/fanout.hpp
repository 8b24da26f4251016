// The readers of the stream as the pipeline sees them: a subscription and a
// queue to send lines to. The socket server registers its clients here; unit
// tests register their own.
#pragma once

#include "protocol.hpp"
#include "subscription.hpp"

#include <algorithm>
#include <vector>

namespace execmond {

class Subscriber {
public:
    virtual ~Subscriber() = default;
    virtual const Subscription& subscription() const = 0;
    // Never blocks: a subscriber that cannot keep up drops and counts.
    virtual void send(const Line& line) = 0;
    // Several lines that belong together (a snapshot): queued as one unit,
    // past the queue's bound if need be.
    virtual void send_whole(const Line& lines) { send(lines); }
    // A line of the numbered stream (StreamLog), with its seq.
    virtual void deliver(const Line& line, uint64_t /*seq*/) { send(line); }
    // Catching up from the StreamLog: it takes the stream's lines from there,
    // so the fan-out skips it.
    virtual bool replaying() const { return false; }
};

class Fanout {
public:
    void add(Subscriber& s) { subscribers_.push_back(&s); }
    void remove(Subscriber& s) { std::erase(subscribers_, &s); }
    size_t size() const { return subscribers_.size(); }
    bool empty() const { return subscribers_.empty(); }

    template <typename Fn> void for_each(Fn&& fn) const {
        for (Subscriber* s : subscribers_)
            fn(*s);
    }
    void broadcast(const Line& line) const {
        for (Subscriber* s : subscribers_)
            s->send(line);
    }

private:
    std::vector<Subscriber*> subscribers_;
};

} // namespace execmond
