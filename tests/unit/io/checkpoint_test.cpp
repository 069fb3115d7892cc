// Checkpoint::open on model folders: a single model.safetensors, index-listed shards, a folder
// of *.safetensors without index, and the index / folder errors (each naming file and tensor).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "io/safetensors.h"
#include "io_test_util.h"

using namespace swallow;
using swallow::test::TempDir;
using swallow::test::throws_error;
using swallow::test::write_bytes;

namespace {

// Writes one F32 [1] tensor per name, holding `value`.
void write_tensors(const std::string& path, const std::vector<std::string>& names, float value = 1.0f) {
  std::vector<TensorToWrite> tensors;
  for (const std::string& name : names) {
    tensors.push_back({name, DType::kF32, {1}, {reinterpret_cast<const uint8_t*>(&value), sizeof(value)}});
  }
  write_safetensors(path, tensors);
}

float value_of(const TensorInfo* t) {
  float v = 0;
  std::memcpy(&v, t->data.data(), sizeof(v));
  return v;
}

}  // namespace

TEST(Checkpoint, SingleFile) {
  TempDir tmp;
  write_tensors(tmp.path("model.safetensors"), {"b", "a"});
  Checkpoint ckpt = Checkpoint::open(tmp.dir());
  EXPECT_EQ(ckpt.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ckpt.total_bytes(), 8u);
  ASSERT_NE(ckpt.find("a"), nullptr);
  EXPECT_EQ(ckpt.find("a")->file, tmp.path("model.safetensors"));
  EXPECT_EQ(ckpt.find("missing"), nullptr);
}

TEST(Checkpoint, ShardsListedByIndex) {
  TempDir tmp;
  write_tensors(tmp.path("model-00001-of-00002.safetensors"), {"a", "b"}, 1.0f);
  write_tensors(tmp.path("model-00002-of-00002.safetensors"), {"c", "not_in_map"}, 2.0f);
  write_tensors(tmp.path("golden.safetensors"), {"a"}, 9.0f);  // not a shard: ignored
  write_bytes(tmp.path("model.safetensors.index.json"),
              R"({"metadata":{"total_size":12},"weight_map":{"a":"model-00001-of-00002.safetensors",)"
              R"("b":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}})");
  Checkpoint ckpt = Checkpoint::open(tmp.dir());
  EXPECT_EQ(ckpt.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ckpt.total_bytes(), 12u);
  EXPECT_EQ(value_of(ckpt.find("a")), 1.0f);
  EXPECT_EQ(value_of(ckpt.find("c")), 2.0f);
  EXPECT_EQ(ckpt.find("c")->file, tmp.path("model-00002-of-00002.safetensors"));
  EXPECT_EQ(ckpt.find("not_in_map"), nullptr);
}

TEST(Checkpoint, FolderOfSafetensorsWithoutIndex) {
  TempDir tmp;
  write_tensors(tmp.path("part-b.safetensors"), {"y"}, 2.0f);
  write_tensors(tmp.path("part-a.safetensors"), {"x"}, 1.0f);
  Checkpoint ckpt = Checkpoint::open(tmp.dir());
  EXPECT_EQ(ckpt.names(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(value_of(ckpt.find("y")), 2.0f);
}

TEST(Checkpoint, DataStaysValidAfterMove) {
  TempDir tmp;
  write_tensors(tmp.path("model.safetensors"), {"w"}, 3.5f);
  Checkpoint first = Checkpoint::open(tmp.dir());
  Checkpoint moved = std::move(first);
  ASSERT_NE(moved.find("w"), nullptr);
  EXPECT_EQ(value_of(moved.find("w")), 3.5f);
}

TEST(Checkpoint, SameTensorInTwoFilesWithoutIndex) {
  TempDir tmp;
  write_tensors(tmp.path("one.safetensors"), {"w"});
  write_tensors(tmp.path("two.safetensors"), {"w"});
  EXPECT_TRUE(throws_error([&] { Checkpoint::open(tmp.dir()); }, ErrorKind::kInvalidFile,
                           {"tensor 'w'", "one.safetensors", "two.safetensors"}));
}

TEST(Checkpoint, IndexNamesMissingShard) {
  TempDir tmp;
  write_tensors(tmp.path("model-00001-of-00002.safetensors"), {"a"});
  write_bytes(tmp.path("model.safetensors.index.json"),
              R"({"weight_map":{"a":"model-00001-of-00002.safetensors","lm_head.weight":"model-00002-of-00002.safetensors"}})");
  EXPECT_TRUE(throws_error([&] { Checkpoint::open(tmp.dir()); }, ErrorKind::kNotFound,
                           {tmp.path("model.safetensors.index.json"), "model-00002-of-00002.safetensors", "lm_head.weight"}));
}

TEST(Checkpoint, IndexTensorMissingFromItsShard) {
  TempDir tmp;
  write_tensors(tmp.path("shard.safetensors"), {"a"});
  write_bytes(tmp.path("model.safetensors.index.json"), R"({"weight_map":{"a":"shard.safetensors","b":"shard.safetensors"}})");
  EXPECT_TRUE(throws_error([&] { Checkpoint::open(tmp.dir()); }, ErrorKind::kInvalidFile,
                           {tmp.path("model.safetensors.index.json"), "tensor 'b'", "shard.safetensors"}));
}

TEST(Checkpoint, IndexNotJson) {
  TempDir tmp;
  write_bytes(tmp.path("model.safetensors.index.json"), "{\"weight_map\": ");
  EXPECT_TRUE(throws_error([&] { Checkpoint::open(tmp.dir()); }, ErrorKind::kInvalidFile,
                           {tmp.path("model.safetensors.index.json"), "not valid JSON"}));
}

TEST(Checkpoint, IndexWithoutWeightMap) {
  TempDir tmp;
  write_bytes(tmp.path("model.safetensors.index.json"), R"({"metadata":{}})");
  EXPECT_TRUE(throws_error([&] { Checkpoint::open(tmp.dir()); }, ErrorKind::kInvalidFile,
                           {tmp.path("model.safetensors.index.json"), "weight_map"}));
}

TEST(Checkpoint, IndexEntryNotAPlainFileName) {
  TempDir tmp;
  write_bytes(tmp.path("model.safetensors.index.json"), R"({"weight_map":{"a":"../elsewhere.safetensors"}})");
  EXPECT_TRUE(throws_error([&] { Checkpoint::open(tmp.dir()); }, ErrorKind::kInvalidFile,
                           {"model.safetensors.index.json", "'a'", "../elsewhere.safetensors"}));
  write_bytes(tmp.path("model.safetensors.index.json"), R"({"weight_map":{"a":3}})");
  EXPECT_TRUE(throws_error([&] { Checkpoint::open(tmp.dir()); }, ErrorKind::kInvalidFile,
                           {"model.safetensors.index.json", "'a'"}));
}

TEST(Checkpoint, MalformedShardIsNamed) {
  TempDir tmp;
  write_bytes(tmp.path("shard.safetensors"), "garbage");
  write_bytes(tmp.path("model.safetensors.index.json"), R"({"weight_map":{"a":"shard.safetensors"}})");
  EXPECT_TRUE(throws_error([&] { Checkpoint::open(tmp.dir()); }, ErrorKind::kInvalidFile, {tmp.path("shard.safetensors")}));
}

TEST(Checkpoint, FolderWithoutWeights) {
  TempDir tmp;
  write_bytes(tmp.path("config.json"), "{}");
  EXPECT_TRUE(throws_error([&] { Checkpoint::open(tmp.dir()); }, ErrorKind::kNotFound, {tmp.dir(), "model.safetensors"}));
}

TEST(Checkpoint, MissingFolder) {
  TempDir tmp;
  std::string dir = tmp.path("nope");
  EXPECT_TRUE(throws_error([&] { Checkpoint::open(dir); }, ErrorKind::kNotFound, {dir}));
}
