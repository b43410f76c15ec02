// tp::tb backpressure test matrix (docs/verification.md): each stream of a
// block either never stalls or stalls at random, in every combination, as the
// parameters of a GoogleTest value-parameterised suite:
//
//   class SiluStallMatrix : public ::testing::TestWithParam<std::tuple<double, double>> {};
//   TEST_P(SiluStallMatrix, ...) { const auto [source_p, sink_p] = GetParam(); ... }
//   INSTANTIATE_TEST_SUITE_P(SourceSink, SiluStallMatrix, tp::tb::stall_matrix<2>(),
//                            tp::tb::stall_matrix_names("Source", "Sink"));
//
// gives the tests .../SourceNeverSinkNever, ...SinkRandom, .../SourceRandomSinkNever, ...
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace tp::tb {

// Stall probability of a stream that stalls "at random" in the matrix.
inline constexpr double kRandomStall = 0.4;

// Parameter generator: every std::tuple of N stall probabilities, each 0 or
// kRandomStall (N >= 2 streams).
template <std::size_t N>
auto stall_matrix() {
  static_assert(N >= 2, "a stall matrix needs at least two streams");
  return []<std::size_t... I>(std::index_sequence<I...>) {
    return ::testing::Combine((static_cast<void>(I), ::testing::Values(0.0, kRandomStall))...);
  }(std::make_index_sequence<N>{});
}

// "SourceRandomSinkNever" for {{"Source", 0.4}, {"Sink", 0.0}}: each stream's
// name followed by Never (probability 0) or Random.
inline std::string stall_matrix_name(std::initializer_list<std::pair<std::string_view, double>> streams) {
  std::string name;
  for (const auto& [stream, probability] : streams) {
    name.append(stream).append(probability == 0.0 ? "Never" : "Random");
  }
  return name;
}

// Test-name generator for INSTANTIATE_TEST_SUITE_P over stall_matrix<N>():
// one stream name per tuple element, in order.
template <class... Names>
auto stall_matrix_names(Names... names) {
  return [=](const auto& info) {
    static_assert(std::tuple_size_v<std::decay_t<decltype(info.param)>> == sizeof...(Names),
                  "one stream name per stall probability");
    return std::apply([&](auto... p) { return stall_matrix_name({{names, p}...}); }, info.param);
  };
}

}  // namespace tp::tb
