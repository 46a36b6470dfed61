import CZlib
import Foundation

/// A decoded PNG (8-bit greyscale, grey+alpha, RGB or RGBA, not interlaced: what headless
/// Chromium writes), for tests that look at screenshots. Pixels are RGBA, row-major.
public struct PNGImage: Sendable {
    public let width: Int
    public let height: Int
    public let rgba: [UInt8]

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public init(data: Data) throws {
        let bytes = [UInt8](data)
        guard bytes.count > 8, bytes[0 ..< 8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else {
            throw Failure(description: "not a PNG (no signature)")
        }
        func u32(_ at: Int) -> Int {
            Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
        }
        var offset = 8
        var header: (width: Int, height: Int, depth: UInt8, color: UInt8, interlace: UInt8)?
        var compressed: [UInt8] = []
        var ended = false
        while offset + 12 <= bytes.count {
            let length = u32(offset)
            let type = String(decoding: bytes[offset + 4 ..< offset + 8], as: UTF8.self)
            let start = offset + 8
            guard start + length + 4 <= bytes.count else { throw Failure(description: "chunk \(type) runs past the end") }
            let body = bytes[start ..< start + length]
            let crc = UInt32(truncatingIfNeeded: u32(start + length))
            let computed = bytes[offset + 4 ..< start + length].withUnsafeBufferPointer { buffer in
                UInt32(truncatingIfNeeded: crc32(0, buffer.baseAddress, uInt(buffer.count)))
            }
            guard crc == computed else { throw Failure(description: "chunk \(type): bad CRC") }
            switch type {
            case "IHDR":
                guard length == 13 else { throw Failure(description: "IHDR of \(length) bytes") }
                header = (u32(start), u32(start + 4), bytes[start + 8], bytes[start + 9], bytes[start + 12])
            case "IDAT": compressed.append(contentsOf: body)
            case "IEND": ended = true
            default: break
            }
            offset = start + length + 4
            if ended { break }
        }
        guard let header, ended else { throw Failure(description: "no IHDR or no IEND") }
        guard header.depth == 8, header.interlace == 0 else {
            throw Failure(description: "unsupported PNG: bit depth \(header.depth), interlace \(header.interlace)")
        }
        let channels: Int
        switch header.color {
        case 0: channels = 1
        case 2: channels = 3
        case 4: channels = 2
        case 6: channels = 4
        default: throw Failure(description: "unsupported PNG colour type \(header.color)")
        }
        guard header.width > 0, header.height > 0, header.width < 1 << 15, header.height < 1 << 16 else {
            throw Failure(description: "unreasonable size \(header.width)x\(header.height)")
        }
        let stride = header.width * channels
        var raw = [UInt8](repeating: 0, count: header.height * (stride + 1))
        var rawLength = uLongf(raw.count)
        let status = raw.withUnsafeMutableBufferPointer { out in
            compressed.withUnsafeBufferPointer { input in
                uncompress(out.baseAddress, &rawLength, input.baseAddress, uLong(input.count))
            }
        }
        guard status == Z_OK, Int(rawLength) == raw.count else {
            throw Failure(description: "image data does not inflate to \(raw.count) bytes (zlib status \(status), \(rawLength) bytes)")
        }
        // Undo the per-row filters (PNG spec, section 9).
        var pixels = [UInt8](repeating: 0, count: header.height * stride)
        for y in 0 ..< header.height {
            let filter = raw[y * (stride + 1)]
            let row = y * (stride + 1) + 1
            for i in 0 ..< stride {
                let x = raw[row + i]
                let a = i >= channels ? Int(pixels[y * stride + i - channels]) : 0
                let b = y > 0 ? Int(pixels[(y - 1) * stride + i]) : 0
                let c = i >= channels && y > 0 ? Int(pixels[(y - 1) * stride + i - channels]) : 0
                let predicted: Int
                switch filter {
                case 0: predicted = 0
                case 1: predicted = a
                case 2: predicted = b
                case 3: predicted = (a + b) / 2
                case 4:
                    let p = a + b - c
                    let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
                default: throw Failure(description: "row \(y): unknown filter \(filter)")
                }
                pixels[y * stride + i] = UInt8(truncatingIfNeeded: Int(x) + predicted)
            }
        }
        var rgba = [UInt8](repeating: 255, count: header.width * header.height * 4)
        for p in 0 ..< header.width * header.height {
            let s = p * channels
            switch channels {
            case 1, 2:
                rgba[p * 4] = pixels[s]; rgba[p * 4 + 1] = pixels[s]; rgba[p * 4 + 2] = pixels[s]
                if channels == 2 { rgba[p * 4 + 3] = pixels[s + 1] }
            default:
                rgba[p * 4] = pixels[s]; rgba[p * 4 + 1] = pixels[s + 1]; rgba[p * 4 + 2] = pixels[s + 2]
                if channels == 4 { rgba[p * 4 + 3] = pixels[s + 3] }
            }
        }
        width = header.width
        height = header.height
        self.rgba = rgba
    }

    /// The share of pixels that are not (near) white, 0…1.
    public var nonWhiteFraction: Double {
        var count = 0
        for p in 0 ..< width * height where rgba[p * 4] < 240 || rgba[p * 4 + 1] < 240 || rgba[p * 4 + 2] < 240 { count += 1 }
        return Double(count) / Double(max(width * height, 1))
    }

    /// The number of distinct colours (RGB) among the pixels.
    public var colorCount: Int {
        var seen = Set<UInt32>()
        for p in 0 ..< width * height {
            seen.insert(UInt32(rgba[p * 4]) << 16 | UInt32(rgba[p * 4 + 1]) << 8 | UInt32(rgba[p * 4 + 2]))
        }
        return seen.count
    }
}
