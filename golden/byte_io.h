// Little-endian byte buffers: bounds-checked reading (every read names what it
// reads, so a short file yields a message, never an out-of-bounds read) and
// appending for the writers.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace tp {

template <typename Error>
class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  std::size_t offset() const { return offset_; }
  std::size_t remaining() const { return bytes_.size() - offset_; }

  template <typename T>
  T read(const char* what) {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    std::memcpy(&value, take(sizeof(T), what), sizeof(T));
    return value;
  }

  template <typename T>
  void read_into(T* out, std::size_t count, const char* what) {
    if (count > remaining() / sizeof(T)) fail_short(count * sizeof(T), what);
    std::memcpy(out, take(count * sizeof(T), what), count * sizeof(T));
  }

  void skip(std::size_t count, const char* what) { take(count, what); }

 private:
  const std::uint8_t* take(std::size_t count, const char* what) {
    if (count > remaining()) fail_short(count, what);
    const std::uint8_t* at = bytes_.data() + offset_;
    offset_ += count;
    return at;
  }
  [[noreturn]] void fail_short(std::size_t count, const char* what) const {
    throw Error("truncated: " + std::string(what) + " needs " + std::to_string(count) +
                " bytes at offset " + std::to_string(offset_) + ", only " +
                std::to_string(remaining()) + " remain");
  }

  std::span<const std::uint8_t> bytes_;
  std::size_t offset_ = 0;
};

// Appends the raw bytes of `count` values.
template <typename T>
void append_bytes(std::vector<std::uint8_t>& out, const T* data, std::size_t count) {
  static_assert(std::is_trivially_copyable_v<T>);
  const std::size_t at = out.size();
  out.resize(at + count * sizeof(T));
  if (count != 0) std::memcpy(out.data() + at, data, count * sizeof(T));
}

template <typename T>
void append_value(std::vector<std::uint8_t>& out, T value) {
  append_bytes(out, &value, 1);
}

}  // namespace tp
