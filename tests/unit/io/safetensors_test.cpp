// write_safetensors and SafetensorsFile on well-formed files: round trips of every dtype,
// metadata, zero-size and scalar tensors, alignment, and the writer's argument checks.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "io/safetensors.h"
#include "io_test_util.h"

using namespace swallow;
using swallow::test::TempDir;
using swallow::test::throws_error;

namespace {

template <class T>
std::span<const uint8_t> as_bytes(const std::vector<T>& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(T)};
}

template <class T>
std::vector<T> read_as(const TensorInfo& t) {
  std::vector<T> out(t.data.size() / sizeof(T));
  std::memcpy(out.data(), t.data.data(), t.data.size());
  return out;
}

}  // namespace

TEST(Safetensors, RoundTripsEveryDtypeAndMetadata) {
  TempDir tmp;
  std::vector<float> f32 = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -8.5f};  // [2, 3]
  std::vector<uint16_t> bf16 = {f32_to_bf16(1.0f), f32_to_bf16(-0.5f), f32_to_bf16(3.0f)};  // [3]
  std::vector<uint16_t> f16 = {f32_to_f16(0.25f), f32_to_f16(65504.0f)};  // [1, 2]
  std::vector<int32_t> i32 = {-42};  // scalar []
  std::vector<TensorToWrite> tensors = {
      {"model.w", DType::kF32, {2, 3}, as_bytes(f32)},
      {"model.b", DType::kBF16, {3}, as_bytes(bf16)},
      {"h", DType::kF16, {1, 2}, as_bytes(f16)},
      {"scalar", DType::kI32, {}, as_bytes(i32)},
      {"empty", DType::kF32, {0, 5}, {}},
  };
  std::string path = tmp.path("t.safetensors");
  write_safetensors(path, tensors, {{"format", "pt"}, {"source", "unit test"}});

  SafetensorsFile file(path);
  EXPECT_EQ(file.path(), path);
  ASSERT_EQ(file.tensors().size(), 5u);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.metadata().at("source"), "unit test");

  const TensorInfo* w = file.find("model.w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dtype, DType::kF32);
  EXPECT_EQ(w->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(w->n_elements(), 6);
  EXPECT_EQ(w->file, path);
  EXPECT_EQ(read_as<float>(*w), f32);

  const TensorInfo* b = file.find("model.b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->dtype, DType::kBF16);
  EXPECT_EQ(read_as<uint16_t>(*b), bf16);
  EXPECT_EQ(read_as<uint16_t>(*file.find("h")), f16);

  const TensorInfo* s = file.find("scalar");
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->shape.empty());
  EXPECT_EQ(s->n_elements(), 1);
  EXPECT_EQ(read_as<int32_t>(*s), i32);

  const TensorInfo* e = file.find("empty");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->n_elements(), 0);
  EXPECT_TRUE(e->data.empty());

  EXPECT_EQ(file.find("missing"), nullptr);
}

TEST(Safetensors, TensorsAreInFileOrderAndAligned) {
  TempDir tmp;
  std::vector<uint16_t> odd = {1, 2, 3};  // 6 bytes: would misalign a following f32 tensor
  std::vector<float> f = {1.0f, 2.0f};
  std::vector<TensorToWrite> tensors = {{"a_bf16", DType::kBF16, {3}, as_bytes(odd)},
                                        {"b_f32", DType::kF32, {2}, as_bytes(f)}};
  std::string path = tmp.path("aligned.safetensors");
  write_safetensors(path, tensors);
  SafetensorsFile file(path);
  const uint8_t* previous = nullptr;
  for (const TensorInfo& t : file.tensors()) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data.data()) % dtype_size(t.dtype), 0u) << t.name;
    if (previous != nullptr) {
      EXPECT_GT(t.data.data(), previous);
    }
    previous = t.data.data();
  }
  EXPECT_TRUE(file.metadata().empty());
}

TEST(Safetensors, WriterRejectsWrongByteCount) {
  TempDir tmp;
  std::vector<float> f = {1.0f, 2.0f, 3.0f};
  std::vector<TensorToWrite> tensors = {{"w", DType::kF32, {2, 2}, as_bytes(f)}};
  EXPECT_TRUE(throws_error([&] { write_safetensors(tmp.path("x.safetensors"), tensors); },
                           ErrorKind::kInvalidArgument, {"tensor 'w'", "16 bytes", "got 12"}));
}

TEST(Safetensors, WriterRejectsDuplicateReservedAndNegative) {
  TempDir tmp;
  std::vector<float> f = {1.0f};
  std::vector<TensorToWrite> duplicate = {{"w", DType::kF32, {1}, as_bytes(f)}, {"w", DType::kF32, {1}, as_bytes(f)}};
  EXPECT_TRUE(throws_error([&] { write_safetensors(tmp.path("x.safetensors"), duplicate); },
                           ErrorKind::kInvalidArgument, {"tensor 'w'", "twice"}));
  std::vector<TensorToWrite> reserved = {{"__metadata__", DType::kF32, {1}, as_bytes(f)}};
  EXPECT_TRUE(throws_error([&] { write_safetensors(tmp.path("x.safetensors"), reserved); },
                           ErrorKind::kInvalidArgument, {"__metadata__", "reserved"}));
  std::vector<TensorToWrite> negative = {{"n", DType::kF32, {-1}, as_bytes(f)}};
  EXPECT_TRUE(throws_error([&] { write_safetensors(tmp.path("x.safetensors"), negative); },
                           ErrorKind::kInvalidArgument, {"tensor 'n'", "negative"}));
}

TEST(Safetensors, WriterNamesUnwritablePath) {
  std::string path = "/nonexistent-swallow-dir/out.safetensors";
  EXPECT_TRUE(throws_error([&] { write_safetensors(path, {}); }, ErrorKind::kInvalidArgument, {path}));
}

TEST(Safetensors, EmptyFileOfNoTensorsIsValid) {
  TempDir tmp;
  std::string path = tmp.path("none.safetensors");
  write_safetensors(path, {});
  SafetensorsFile file(path);
  EXPECT_TRUE(file.tensors().empty());
}
