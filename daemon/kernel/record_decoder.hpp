// Turns the bytes of one ring-buffer record (proto/execmond_event.h) into an
// Event, checking every size and length against the bytes actually there.
#pragma once

#include "event.hpp"

#include <cstddef>
#include <string>
#include <variant>

namespace execmond {

struct DecodeError {
    std::string message;
};

std::variant<Event, DecodeError> decode_record(const void* data, size_t size);

} // namespace execmond
