// MmapFile maps real files and reports missing ones with their path.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/mmap_file.h"

using namespace swallow;

TEST(MmapFile, MapsContents) {
  auto path = std::filesystem::temp_directory_path() / "swallow_mmap_test.bin";
  {
    std::ofstream out(path, std::ios::binary);
    out << "hello\0world";
  }
  MmapFile f(path.string());
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.bytes().data()), 5), "hello");
  MmapFile moved = std::move(f);
  EXPECT_EQ(moved.size(), 5u);
  EXPECT_EQ(read_file(path.string()), "hello");
  std::filesystem::remove(path);
}

TEST(MmapFile, MissingFileNamesPath) {
  try {
    MmapFile f("/nonexistent/swallow/file.safetensors");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/swallow/file.safetensors"), std::string::npos);
  }
  EXPECT_THROW(read_file("/nonexistent/x"), Error);
}
