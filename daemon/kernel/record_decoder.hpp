// Turns the bytes of one ring-buffer record (proto/execmond_event.h) into an
// Event, checking every size and length against the bytes actually there.
#pragma once

#include "event.hpp"

#include <cstddef>
#include <string>
#include <variant>
#include <vector>

namespace execmond {

struct DecodeError {
    std::string message;
};

// `env_allow`: the --env names. Of an exec record's environment area only
// their entries are kept (env_filter.hpp); the rest is not looked at again.
std::variant<Event, DecodeError> decode_record(const void* data, size_t size,
                                               const std::vector<std::string>& env_allow);
std::variant<Event, DecodeError> decode_record(const void* data, size_t size);

} // namespace execmond
