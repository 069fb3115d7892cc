// Malformed safetensors files: one test per validation rule, each checking the error kind and
// that the message names the file and the tensor or field at fault; plus truncations and byte
// flips of a valid file, which must only ever produce swallow::Error.
#include <gtest/gtest.h>

#include <random>

#include "io/safetensors.h"
#include "io_test_util.h"

using namespace swallow;
using swallow::test::safetensors_bytes;
using swallow::test::TempDir;
using swallow::test::throws_error;
using swallow::test::write_bytes;

namespace {

class SafetensorsValidation : public ::testing::Test {
 protected:
  // Writes the file and expects opening it to fail with `kind`, naming the file and `parts`.
  ::testing::AssertionResult rejects(const std::string& bytes, ErrorKind kind, std::vector<std::string> parts) {
    std::string path = tmp_.path("bad.safetensors");
    write_bytes(path, bytes);
    parts.push_back(path);
    return throws_error([&] { SafetensorsFile file(path); }, kind, parts);
  }
  ::testing::AssertionResult rejects_header(const std::string& header, std::string_view data, ErrorKind kind,
                                            std::vector<std::string> parts) {
    return rejects(safetensors_bytes(header, data), kind, std::move(parts));
  }
  // One tensor 'w' with the given dtype, shape and offsets (JSON snippets).
  static std::string one_tensor(const std::string& dtype, const std::string& shape, const std::string& offsets) {
    return R"({"w":{"dtype":)" + dtype + R"(,"shape":)" + shape + R"(,"data_offsets":)" + offsets + "}}";
  }

  TempDir tmp_;
  const std::string four_bytes_ = std::string(4, '\0');
};

constexpr ErrorKind kInvalid = ErrorKind::kInvalidFile;

}  // namespace

TEST_F(SafetensorsValidation, EmptyFile) { EXPECT_TRUE(rejects("", kInvalid, {"too short"})); }

TEST_F(SafetensorsValidation, ShorterThanLengthPrefix) { EXPECT_TRUE(rejects("abc", kInvalid, {"3 bytes", "too short"})); }

TEST_F(SafetensorsValidation, HeaderLengthLargerThanFile) {
  EXPECT_TRUE(rejects(safetensors_bytes("{}", "", 1000), kInvalid, {"header length 1000", "larger than the file"}));
}

TEST_F(SafetensorsValidation, HeaderLengthOver100MB) {
  EXPECT_TRUE(rejects(safetensors_bytes("{}", "", 100'000'001), kInvalid, {"100000001", "exceeds", "100 MB"}));
}

TEST_F(SafetensorsValidation, HeaderLengthMaxUint64) {
  EXPECT_TRUE(rejects(safetensors_bytes("{}", "", ~0ull), kInvalid, {"18446744073709551615", "exceeds"}));
}

TEST_F(SafetensorsValidation, HeaderNotJson) {
  EXPECT_TRUE(rejects_header(R"({"w": )", "", kInvalid, {"not valid JSON"}));
}

TEST_F(SafetensorsValidation, TrailingBytesAfterHeaderObject) {
  EXPECT_TRUE(rejects_header("{} x", "", kInvalid, {"not valid JSON"}));
}

TEST_F(SafetensorsValidation, HeaderNotAnObject) {
  EXPECT_TRUE(rejects_header("[]", "", kInvalid, {"must be a JSON object"}));
}

TEST_F(SafetensorsValidation, TensorEntryNotAnObject) {
  EXPECT_TRUE(rejects_header(R"({"w": 5})", "", kInvalid, {"tensor 'w'", "must be an object"}));
}

TEST_F(SafetensorsValidation, UnknownDtype) {
  EXPECT_TRUE(rejects_header(one_tensor(R"("F33")", "[1]", "[0,4]"), four_bytes_, kInvalid,
                             {"tensor 'w'", "unknown dtype 'F33'"}));
}

TEST_F(SafetensorsValidation, UnsupportedDtype) {
  EXPECT_TRUE(rejects_header(one_tensor(R"("F64")", "[1]", "[0,8]"), std::string(8, '\0'), ErrorKind::kUnsupported,
                             {"tensor 'w'", "F64", "not supported"}));
}

TEST_F(SafetensorsValidation, DtypeNotAString) {
  EXPECT_TRUE(rejects_header(one_tensor("7", "[1]", "[0,4]"), four_bytes_, kInvalid, {"tensor 'w'", "dtype must be a string"}));
}

TEST_F(SafetensorsValidation, NegativeDimension) {
  EXPECT_TRUE(rejects_header(one_tensor(R"("F32")", "[-1]", "[0,4]"), four_bytes_, kInvalid,
                             {"tensor 'w'", "non-negative", "-1"}));
}

TEST_F(SafetensorsValidation, FractionalDimension) {
  EXPECT_TRUE(rejects_header(one_tensor(R"("F32")", "[1.5]", "[0,4]"), four_bytes_, kInvalid, {"tensor 'w'", "shape", "1.5"}));
}

TEST_F(SafetensorsValidation, NestedShape) {
  EXPECT_TRUE(rejects_header(one_tensor(R"("F32")", "[[1]]", "[0,4]"), four_bytes_, kInvalid, {"tensor 'w'", "shape"}));
}

TEST_F(SafetensorsValidation, DimensionBeyondInt64) {
  EXPECT_TRUE(rejects_header(one_tensor(R"("F32")", "[9223372036854775808]", "[0,4]"), four_bytes_, kInvalid,
                             {"tensor 'w'", "shape", "int64"}));
}

TEST_F(SafetensorsValidation, TooManyDimensions) {
  EXPECT_TRUE(rejects_header(one_tensor(R"("F32")", "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]", "[0,4]"), four_bytes_, kInvalid,
                             {"tensor 'w'", "more than 16 dimensions"}));
}

TEST_F(SafetensorsValidation, MissingField) {
  EXPECT_TRUE(rejects_header(R"({"w":{"dtype":"F32","shape":[1]}})", four_bytes_, kInvalid,
                             {"tensor 'w'", "missing field 'data_offsets'"}));
}

TEST_F(SafetensorsValidation, UnexpectedField) {
  EXPECT_TRUE(rejects_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"foo":1}})", four_bytes_, kInvalid,
                             {"tensor 'w'", "unexpected field 'foo'"}));
}

TEST_F(SafetensorsValidation, RepeatedField) {
  EXPECT_TRUE(rejects_header(R"({"w":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}})", four_bytes_,
                             kInvalid, {"tensor 'w'", "field 'dtype' appears twice"}));
}

TEST_F(SafetensorsValidation, DuplicateTensorName) {
  std::string entry = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  EXPECT_TRUE(rejects_header(R"({"w":)" + entry + R"(,"w":)" + entry + "}", four_bytes_, kInvalid,
                             {"tensor 'w'", "appears twice"}));
}

TEST_F(SafetensorsValidation, OffsetsNotAPair) {
  EXPECT_TRUE(rejects_header(one_tensor(R"("F32")", "[1]", "[0]"), four_bytes_, kInvalid, {"tensor 'w'", "data_offsets"}));
  EXPECT_TRUE(rejects_header(one_tensor(R"("F32")", "[1]", "[0,4,8]"), four_bytes_, kInvalid, {"tensor 'w'", "data_offsets"}));
  EXPECT_TRUE(rejects_header(one_tensor(R"("F32")", "[1]", "[-4,0]"), four_bytes_, kInvalid, {"tensor 'w'", "data_offsets"}));
}

TEST_F(SafetensorsValidation, OffsetsReversed) {
  EXPECT_TRUE(rejects_header(one_tensor(R"("F32")", "[1]", "[4,0]"), four_bytes_, kInvalid,
                             {"tensor 'w'", "[4, 0]", "end before they begin"}));
}

TEST_F(SafetensorsValidation, OffsetsOutsideDataSection) {
  EXPECT_TRUE(rejects_header(one_tensor(R"("F32")", "[2]", "[0,8]"), four_bytes_, kInvalid,
                             {"tensor 'w'", "outside the data section", "4 bytes"}));
  EXPECT_TRUE(rejects_header(one_tensor(R"("F32")", "[1]", "[18446744073709551611,18446744073709551615]"), four_bytes_,
                             kInvalid, {"tensor 'w'", "outside the data section"}));
}

TEST_F(SafetensorsValidation, ShapeAndDtypeDisagreeWithOffsets) {
  EXPECT_TRUE(rejects_header(one_tensor(R"("F32")", "[2,2]", "[0,8]"), std::string(8, '\0'), kInvalid,
                             {"tensor 'w'", "[2, 2]", "needs 16 bytes", "hold 8"}));
}

TEST_F(SafetensorsValidation, ShapeTimesDtypeOverflowsInt64) {
  EXPECT_TRUE(rejects_header(one_tensor(R"("F32")", "[4611686018427387904,4]", "[0,4]"), four_bytes_, kInvalid,
                             {"tensor 'w'", "overflows"}));
  EXPECT_TRUE(rejects_header(one_tensor(R"("BF16")", "[9223372036854775807,9223372036854775807]", "[0,4]"), four_bytes_,
                             kInvalid, {"tensor 'w'", "overflows"}));
  // Fits uint64 but not int64.
  EXPECT_TRUE(rejects_header(one_tensor(R"("F32")", "[4611686018427387904]", "[0,4]"), four_bytes_, kInvalid,
                             {"tensor 'w'", "overflows"}));
}

TEST_F(SafetensorsValidation, HugeShapeWithAZeroDimensionIsEmpty) {
  std::string path = tmp_.path("zero.safetensors");
  write_bytes(path, safetensors_bytes(one_tensor(R"("F32")", "[9223372036854775807,0,9223372036854775807]", "[0,0]"), ""));
  SafetensorsFile file(path);
  ASSERT_EQ(file.tensors().size(), 1u);
  EXPECT_EQ(file.tensors()[0].n_elements(), 0);
}

TEST_F(SafetensorsValidation, OverlappingTensors) {
  std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  EXPECT_TRUE(rejects_header(header, std::string(12, '\0'), kInvalid, {"'a'", "'b'", "overlap"}));
}

TEST_F(SafetensorsValidation, GapBetweenTensors) {
  std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                       R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  EXPECT_TRUE(rejects_header(header, std::string(12, '\0'), kInvalid, {"bytes [4, 8)", "tensor 'b'", "belong to no tensor"}));
}

TEST_F(SafetensorsValidation, UncoveredBytesAtEnd) {
  EXPECT_TRUE(rejects_header(one_tensor(R"("F32")", "[1]", "[0,4]"), std::string(8, '\0'), kInvalid,
                             {"bytes [4, 8)", "end of the data section"}));
}

TEST_F(SafetensorsValidation, MetadataValueNotAString) {
  EXPECT_TRUE(rejects_header(R"({"__metadata__":{"format":1}})", "", kInvalid, {"__metadata__", "'format'", "string"}));
}

TEST_F(SafetensorsValidation, MetadataNotAnObject) {
  EXPECT_TRUE(rejects_header(R"({"__metadata__":"pt"})", "", kInvalid, {"__metadata__", "must be an object"}));
}

TEST_F(SafetensorsValidation, DeeplyNestedHeaderIsRejectedWithoutRecursion) {
  std::string header = R"({"w":)" + std::string(200'000, '[') + std::string(200'000, ']') + "}";
  EXPECT_TRUE(rejects_header(header, "", kInvalid, {"tensor 'w'", "must be an object"}));
  EXPECT_TRUE(rejects_header(std::string(200'000, '['), "", kInvalid, {"must be a JSON object"}));
}

TEST_F(SafetensorsValidation, MissingFileIsNotFound) {
  std::string path = tmp_.path("absent.safetensors");
  EXPECT_TRUE(throws_error([&] { SafetensorsFile file(path); }, ErrorKind::kNotFound, {path}));
}

// Every prefix and many random byte flips of a valid file either load or throw swallow::Error.
TEST_F(SafetensorsValidation, TruncationsAndByteFlipsOnlyThrowSwallowErrors) {
  std::string header = R"({"__metadata__":{"format":"pt"},"a":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]},)"
                       R"("b":{"dtype":"F32","shape":[3],"data_offsets":[12,24]},"c":{"dtype":"I32","shape":[],"data_offsets":[24,28]}})";
  const std::string valid = safetensors_bytes(header, std::string(28, '\x01'));
  std::string path = tmp_.path("mutated.safetensors");
  auto open_quietly = [&](const std::string& bytes) {
    write_bytes(path, bytes);
    try {
      SafetensorsFile file(path);
      for (const TensorInfo& t : file.tensors()) {
        EXPECT_EQ(static_cast<uint64_t>(t.n_elements()) * dtype_size(t.dtype), t.data.size()) << t.name;
      }
    } catch (const Error&) {
    }
  };
  write_bytes(path, valid);
  ASSERT_EQ(SafetensorsFile(path).tensors().size(), 3u);
  for (size_t n = 0; n < valid.size(); ++n) open_quietly(valid.substr(0, n));
  std::mt19937 rng(1234);
  for (int i = 0; i < 1000; ++i) {
    std::string bytes = valid;
    int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng() & 0xff);
    open_quietly(bytes);
  }
}
