#include "editcaption/data/image_header.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "editcaption/core/check.h"

namespace ec::data {
namespace {

/// The header parsers stop with NeedMore when a prefix ends before the header is complete.
enum class Status { Ok, NeedMore };

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[1] << 8 | p[0]); }
uint32_t le32(const uint8_t* p) { return uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | p[0]; }

[[noreturn]] void fail(const std::string& name, const std::string& reason) {
  throw EC_USER_ERROR(Input, "{}: {}", name, reason);
}

/// EXIF orientation from a TIFF structure (the payload of JPEG APP1 after "Exif\0\0", of the PNG
/// eXIf chunk and of the WebP EXIF chunk). Malformed EXIF is ignored (orientation 1), as the
/// pixels themselves are fine.
int tiff_orientation(std::span<const uint8_t> t) {
  if (t.size() >= 6 && std::memcmp(t.data(), "Exif\0\0", 6) == 0) t = t.subspan(6);
  if (t.size() < 8) return 1;
  bool little = t[0] == 'I' && t[1] == 'I';
  bool big = t[0] == 'M' && t[1] == 'M';
  if (!little && !big) return 1;
  auto u16 = [&](size_t at) { return little ? le16(&t[at]) : be16(&t[at]); };
  auto u32 = [&](size_t at) { return little ? le32(&t[at]) : be32(&t[at]); };
  if (u16(2) != 42) return 1;
  size_t ifd = u32(4);
  if (ifd + 2 > t.size()) return 1;
  size_t count = u16(ifd);
  for (size_t i = 0; i < count; ++i) {
    size_t e = ifd + 2 + 12 * i;
    if (e + 12 > t.size()) return 1;
    if (u16(e) != 0x0112) continue;
    // SHORT, count 1: the value sits in the first two bytes of the value field.
    if (u16(e + 2) != 3 || u32(e + 4) != 1) return 1;
    int v = u16(e + 8);
    return v >= 1 && v <= 8 ? v : 1;
  }
  return 1;
}

bool is_sof(uint8_t m) { return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC; }

Status parse_jpeg(std::span<const uint8_t> b, const std::string& name, bool complete, ImageHeader& h) {
  const size_t n = b.size();
  bool have_sof = false;
  size_t pos = 2;
  while (true) {
    if (pos >= n) {
      if (!complete) return Status::NeedMore;
      fail(name, fmt::format("truncated JPEG: the file ends after {} bytes without its EOI marker", n));
    }
    if (b[pos] != 0xFF) fail(name, fmt::format("malformed JPEG: expected a marker at byte {}", pos));
    while (pos < n && b[pos] == 0xFF) ++pos;  // fill bytes
    if (pos >= n) continue;
    const uint8_t marker = b[pos];
    if (marker == 0xD9) {
      if (!have_sof) fail(name, "malformed JPEG: no frame header (SOF) before the EOI marker");
      return Status::Ok;
    }
    if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      ++pos;
      continue;
    }
    if (pos + 3 > n) {
      if (!complete) return Status::NeedMore;
      fail(name, fmt::format("truncated JPEG: the file ends inside a segment header at byte {}", pos));
    }
    const size_t len = be16(&b[pos + 1]);
    if (len < 2) fail(name, fmt::format("malformed JPEG: segment 0xFF{:02X} at byte {} has length {}", marker, pos, len));
    const size_t data = pos + 3, end = pos + 1 + len;
    if (end > n) {
      if (!complete) return Status::NeedMore;
      fail(name, fmt::format("truncated JPEG: segment 0xFF{:02X} at byte {} needs {} bytes, the file has {}", marker,
                             pos, end, n));
    }
    if (is_sof(marker)) {
      if (len < 8) fail(name, "malformed JPEG: short frame header");
      h.stored_height = be16(&b[data + 1]);
      h.stored_width = be16(&b[data + 3]);
      int comps = b[data + 5];
      if (h.stored_width == 0 || h.stored_height == 0) {
        fail(name, fmt::format("unsupported JPEG: frame size {}x{} (a zero height defined later by a DNL marker is not supported)",
                               h.stored_width, h.stored_height));
      }
      if (comps != 1 && comps != 3 && comps != 4) fail(name, fmt::format("unsupported JPEG: {} colour components", comps));
      h.channels = comps;
      have_sof = true;
    } else if (marker == 0xE1 && h.orientation == 1) {
      h.orientation = tiff_orientation(b.subspan(data, end - data));
    }
    pos = end;
    if (marker != 0xDA) continue;
    // Start of scan: the header is complete; the entropy-coded data runs to the next marker
    // that is neither a stuffed 0xFF00 nor a restart marker.
    if (!have_sof) fail(name, "malformed JPEG: scan before the frame header (SOF)");
    if (!complete) return Status::Ok;
    while (true) {
      const void* ff = pos < n ? std::memchr(&b[pos], 0xFF, n - pos) : nullptr;
      if (!ff) {
        fail(name, fmt::format("truncated JPEG: the file ends after {} bytes inside the image data, without its EOI marker", n));
      }
      pos = static_cast<const uint8_t*>(ff) - b.data();
      if (pos + 1 >= n) {
        fail(name, fmt::format("truncated JPEG: the file ends after {} bytes inside the image data, without its EOI marker", n));
      }
      const uint8_t next = b[pos + 1];
      if (next == 0x00 || (next >= 0xD0 && next <= 0xD7) || next == 0xFF) {
        pos += next == 0xFF ? 1 : 2;
        continue;
      }
      break;  // a real marker: back to the segment loop
    }
  }
}

Status parse_png(std::span<const uint8_t> b, const std::string& name, bool complete, ImageHeader& h) {
  const size_t n = b.size();
  size_t pos = 8;
  bool have_ihdr = false, palette = false;
  while (true) {
    if (pos + 8 > n) {
      if (!complete) return Status::NeedMore;
      fail(name, fmt::format("truncated PNG: the file ends after {} bytes without its IEND chunk", n));
    }
    const size_t len = be32(&b[pos]);
    const std::string type(reinterpret_cast<const char*>(&b[pos + 4]), 4);
    const size_t data = pos + 8;
    if (len > 0x7FFFFFFF || data + len + 4 > n) {
      if (!complete && len <= 0x7FFFFFFF) return Status::NeedMore;
      fail(name, fmt::format("truncated PNG: chunk '{}' at byte {} needs {} bytes, the file has {}", type, pos,
                             data + len + 4, n));
    }
    if (!have_ihdr) {
      if (type != "IHDR" || len != 13) fail(name, "malformed PNG: the first chunk is not a 13-byte IHDR");
      h.stored_width = be32(&b[data]);
      h.stored_height = be32(&b[data + 4]);
      if (h.stored_width == 0 || h.stored_height == 0 || h.stored_width > 0x7FFFFFFF || h.stored_height > 0x7FFFFFFF) {
        fail(name, fmt::format("malformed PNG: size {}x{}", h.stored_width, h.stored_height));
      }
      switch (b[data + 9]) {
        case 0: h.channels = 1; break;
        case 2: h.channels = 3; break;
        case 3: h.channels = 3; palette = true; break;
        case 4: h.channels = 2; break;
        case 6: h.channels = 4; break;
        default: fail(name, fmt::format("malformed PNG: colour type {}", b[data + 9]));
      }
      have_ihdr = true;
    } else if (type == "tRNS") {
      if (h.channels == 1 || h.channels == 3) h.channels += 1;
      (void)palette;
    } else if (type == "eXIf") {
      h.orientation = tiff_orientation(b.subspan(data, len));
    } else if (type == "IDAT" && !complete) {
      return Status::Ok;
    } else if (type == "IEND") {
      return Status::Ok;
    }
    pos = data + len + 4;
  }
}

Status parse_webp(std::span<const uint8_t> b, const std::string& name, bool complete, ImageHeader& h) {
  const size_t n = b.size();
  const size_t riff_end = size_t(le32(&b[4])) + 8;
  if (complete && riff_end > n) {
    fail(name, fmt::format("truncated WebP: the RIFF header declares {} bytes, the file has {}", riff_end, n));
  }
  bool have_size = false, exif_expected = false, exif_seen = false;
  size_t pos = 12;
  while (pos + 8 <= std::min(n, riff_end)) {
    const std::string type(reinterpret_cast<const char*>(&b[pos]), 4);
    const size_t len = le32(&b[pos + 4]);
    const size_t data = pos + 8;
    if (data + len > n) {
      if (!complete) return have_size && (exif_seen || !exif_expected) ? Status::Ok : Status::NeedMore;
      fail(name, fmt::format("truncated WebP: chunk '{}' at byte {} needs {} bytes, the file has {}", type, pos, data + len, n));
    }
    const uint8_t* d = &b[data];
    if (type == "VP8X" && len >= 10) {
      if (d[0] & 0x10) h.channels = 4;
      exif_expected = (d[0] & 0x08) != 0;
      h.stored_width = int64_t(d[4] | d[5] << 8 | d[6] << 16) + 1;
      h.stored_height = int64_t(d[7] | d[8] << 8 | d[9] << 16) + 1;
      have_size = true;
    } else if (type == "VP8 " && len >= 10 && !have_size) {
      if (d[3] != 0x9D || d[4] != 0x01 || d[5] != 0x2A) fail(name, "malformed WebP: bad VP8 start code");
      h.stored_width = le16(d + 6) & 0x3FFF;
      h.stored_height = le16(d + 8) & 0x3FFF;
      have_size = true;
    } else if (type == "VP8L" && len >= 5 && !have_size) {
      if (d[0] != 0x2F) fail(name, "malformed WebP: bad VP8L signature");
      uint32_t bits = le32(d + 1);
      h.stored_width = (bits & 0x3FFF) + 1;
      h.stored_height = ((bits >> 14) & 0x3FFF) + 1;
      if ((bits >> 28) & 1) h.channels = 4;
      have_size = true;
    } else if (type == "ALPH") {
      h.channels = 4;
    } else if (type == "EXIF") {
      h.orientation = tiff_orientation(b.subspan(data, len));
      exif_seen = true;
    }
    pos = data + len + (len & 1);
  }
  if (!complete && riff_end > n && exif_expected && !exif_seen) return Status::NeedMore;
  if (!have_size) {
    if (!complete) return Status::NeedMore;
    fail(name, "malformed WebP: no VP8, VP8L or VP8X chunk");
  }
  if (h.stored_width == 0 || h.stored_height == 0) fail(name, "malformed WebP: zero size");
  return Status::Ok;
}

std::optional<ImageFormat> sniff(std::span<const uint8_t> b) {
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return ImageFormat::Jpeg;
  if (b.size() >= 8 && std::memcmp(b.data(), kPng, 8) == 0) return ImageFormat::Png;
  if (b.size() >= 12 && std::memcmp(b.data(), "RIFF", 4) == 0 && std::memcmp(b.data() + 8, "WEBP", 4) == 0) {
    return ImageFormat::Webp;
  }
  return std::nullopt;
}

Status parse(std::span<const uint8_t> bytes, const std::string& name, bool complete, ImageHeader& h) {
  if (bytes.empty()) fail(name, "empty file (0 bytes)");
  auto format = sniff(bytes);
  if (!format) {
    if (!complete && bytes.size() < 12) return Status::NeedMore;
    fail(name, "not a JPEG, PNG or WebP image (unrecognised file signature)");
  }
  h = ImageHeader{};
  h.format = *format;
  switch (*format) {
    case ImageFormat::Jpeg: return parse_jpeg(bytes, name, complete, h);
    case ImageFormat::Png: return parse_png(bytes, name, complete, h);
    case ImageFormat::Webp: return parse_webp(bytes, name, complete, h);
  }
  return Status::Ok;
}

}  // namespace

const char* format_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::Jpeg: return "JPEG";
    case ImageFormat::Png: return "PNG";
    case ImageFormat::Webp: return "WebP";
  }
  return "?";
}

ImageHeader parse_image_header(std::span<const uint8_t> bytes, const std::string& name, bool complete) {
  ImageHeader h;
  if (parse(bytes, name, complete, h) == Status::NeedMore) {
    fail(name, fmt::format("incomplete image header in the first {} bytes", bytes.size()));
  }
  return h;
}

ImageHeader probe_image_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(name, std::filesystem::exists(path) ? "cannot open the file" : "file not found");
  // Most headers fit in the first 64 KiB; big ICC/EXIF segments ahead of a JPEG frame do not.
  std::string buf(64 * 1024, '\0');
  in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
  buf.resize(static_cast<size_t>(in.gcount()));
  const bool whole = in.eof();
  auto span = [&] { return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buf.data()), buf.size()); };
  ImageHeader h;
  if (!whole && parse(span(), name, false, h) == Status::Ok) return h;
  if (!whole) {
    std::ostringstream rest;
    rest << in.rdbuf();
    buf += rest.str();
  }
  // The whole file is in memory now: check its structure as well.
  parse(span(), name, true, h);
  return h;
}

}  // namespace ec::data
