// A map bounded by entries that forgets the least recently used one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <utility>

namespace execmond {

template <typename Key, typename Value, typename Hash = std::hash<Key>> class LruCache {
public:
    explicit LruCache(size_t capacity) : capacity_(capacity) {}

    // The value, now the most recently used; null on a miss.
    const Value* get(const Key& k) {
        auto it = index_.find(k);
        if (it == index_.end()) {
            ++misses_;
            return nullptr;
        }
        ++hits_;
        order_.splice(order_.begin(), order_, it->second);
        return &it->second->second;
    }

    void put(const Key& k, Value v) {
        if (capacity_ == 0)
            return;
        if (auto it = index_.find(k); it != index_.end()) {
            it->second->second = std::move(v);
            order_.splice(order_.begin(), order_, it->second);
            return;
        }
        if (index_.size() == capacity_) {
            index_.erase(order_.back().first);
            order_.pop_back();
            ++evictions_;
        }
        order_.emplace_front(k, std::move(v));
        index_.emplace(k, order_.begin());
    }

    size_t size() const { return index_.size(); }
    size_t capacity() const { return capacity_; }
    uint64_t hits() const { return hits_; }
    uint64_t misses() const { return misses_; }
    uint64_t evictions() const { return evictions_; }

private:
    using Entries = std::list<std::pair<Key, Value>>;
    size_t capacity_;
    Entries order_; // most recently used first
    std::unordered_map<Key, typename Entries::iterator, Hash> index_;
    uint64_t hits_ = 0, misses_ = 0, evictions_ = 0;
};

} // namespace execmond
