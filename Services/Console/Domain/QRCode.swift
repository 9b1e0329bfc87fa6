import Foundation

/// A QR code (ISO/IEC 18004), drawn by the console itself so that a person can scan their authenticator's
/// key: byte mode, error correction level M, versions 1 to 15 (up to 412 bytes), the mask with the lowest
/// penalty. Output is the module matrix, or an SVG of it.
struct QRCode: Sendable {
    /// `modules[row][column]`, true for dark.
    let modules: [[Bool]]
    let version: Int
    let mask: Int

    var size: Int { modules.count }

    struct TooLong: Error {}

    /// - Parameters:
    ///   - bytes: What to encode.
    ///   - mask: A mask to use (0–7) instead of the one with the lowest penalty.
    init(_ bytes: [UInt8], mask forcedMask: Int? = nil) throws {
        guard let version = (1...15).first(where: { Self.dataCapacity($0) * 8 >= 4 + ($0 < 10 ? 8 : 16) + bytes.count * 8 }) else {
            throw TooLong()
        }
        let codewords = Self.codewords(bytes, version: version)
        var base = Matrix(version: version)
        base.placeFunctionPatterns()
        base.placeData(codewords)
        var best: (matrix: Matrix, mask: Int, penalty: Int)?
        for mask in forcedMask.map({ [$0] }) ?? Array(0..<8) {
            var candidate = base
            candidate.apply(mask: mask)
            candidate.placeFormat(mask: mask)
            let penalty = candidate.penalty()
            if best == nil || penalty < best!.penalty { best = (candidate, mask, penalty) }
        }
        modules = best!.matrix.dark
        self.version = version
        self.mask = best!.mask
    }

    /// The code as an SVG image: one unit per module, a quiet zone of four, dark on white.
    /// - Parameter label: Its accessible name.
    func svg(label: String) -> String {
        let side = size + 8
        var path = ""
        for (row, line) in modules.enumerated() {
            for (column, dark) in line.enumerated() where dark { path += "M\(column + 4) \(row + 4)h1v1h-1z" }
        }
        let escaped = label.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(side) \(side)" width="\(side * 6)" height="\(side * 6)" role="img" \
            aria-label="\(escaped)" shape-rendering="crispEdges"><rect width="\(side)" height="\(side)" fill="#fff"/>\
            <path d="\(path)" fill="#000"/></svg>
            """
    }

    // MARK: Codewords

    /// Error correction level M: codewords of error correction per block, and the blocks' data codewords.
    static let blocks: [(ec: Int, data: [Int])] = [
        (10, [16]), (16, [28]), (26, [44]), (18, [32, 32]), (24, [43, 43]), (16, [27, 27, 27, 27]), (18, [31, 31, 31, 31]),
        (22, [38, 38, 39, 39]), (22, [36, 36, 36, 37, 37]), (26, [43, 43, 43, 43, 44]), (30, [50, 51, 51, 51, 51]),
        (22, [36, 36, 36, 36, 36, 36, 37, 37]), (22, [37, 37, 37, 37, 37, 37, 37, 37, 38]),
        (24, [40, 40, 40, 40, 41, 41, 41, 41, 41]), (24, [41, 41, 41, 41, 41, 42, 42, 42, 42, 42]),
    ]

    static func dataCapacity(_ version: Int) -> Int { blocks[version - 1].data.reduce(0, +) }

    /// The data and error-correction codewords, interleaved as they are placed.
    static func codewords(_ bytes: [UInt8], version: Int) -> [UInt8] {
        var bits: [Bool] = []
        func append(_ value: Int, _ count: Int) { for i in stride(from: count - 1, through: 0, by: -1) { bits.append((value >> i) & 1 == 1) } }
        append(0b0100, 4)
        append(bytes.count, version < 10 ? 8 : 16)
        for byte in bytes { append(Int(byte), 8) }
        let capacity = dataCapacity(version) * 8
        append(0, min(4, capacity - bits.count))
        while bits.count % 8 != 0 { bits.append(false) }
        var data: [UInt8] = stride(from: 0, to: bits.count, by: 8).map { start in
            bits[start..<start + 8].reduce(0) { $0 << 1 | ($1 ? 1 : 0) }
        }
        var pad: UInt8 = 0xEC
        while data.count < dataCapacity(version) {
            data.append(pad)
            pad = pad == 0xEC ? 0x11 : 0xEC
        }
        let layout = blocks[version - 1]
        var dataBlocks: [[UInt8]] = []
        var offset = 0
        for count in layout.data {
            dataBlocks.append(Array(data[offset..<offset + count]))
            offset += count
        }
        let ecBlocks = dataBlocks.map { ReedSolomon.remainder($0, degree: layout.ec) }
        var result: [UInt8] = []
        for i in 0..<(layout.data.max() ?? 0) { for block in dataBlocks where i < block.count { result.append(block[i]) } }
        for i in 0..<layout.ec { for block in ecBlocks { result.append(block[i]) } }
        return result
    }

    enum ReedSolomon {
        static let (exp, log): ([UInt8], [Int]) = {
            var exp = [UInt8](repeating: 0, count: 512), log = [Int](repeating: 0, count: 256)
            var x = 1
            for i in 0..<255 {
                exp[i] = UInt8(x)
                log[x] = i
                x <<= 1
                if x & 0x100 != 0 { x ^= 0x11D }
            }
            for i in 255..<512 { exp[i] = exp[i - 255] }
            return (exp, log)
        }()

        static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
            a == 0 || b == 0 ? 0 : exp[log[Int(a)] + log[Int(b)]]
        }

        /// The generator polynomial of `degree` (its coefficients after the leading 1).
        static func generator(_ degree: Int) -> [UInt8] {
            var poly: [UInt8] = [1]
            for i in 0..<degree {
                var next = [UInt8](repeating: 0, count: poly.count + 1)
                for (j, coefficient) in poly.enumerated() {
                    next[j] ^= coefficient
                    next[j + 1] ^= multiply(coefficient, exp[i])
                }
                poly = next
            }
            return Array(poly.dropFirst())
        }

        /// The remainder of `data`·x^degree divided by the generator: the error-correction codewords.
        static func remainder(_ data: [UInt8], degree: Int) -> [UInt8] {
            let generator = generator(degree)
            var remainder = [UInt8](repeating: 0, count: degree)
            for byte in data {
                let factor = byte ^ remainder[0]
                remainder.removeFirst()
                remainder.append(0)
                for (i, coefficient) in generator.enumerated() { remainder[i] ^= multiply(coefficient, factor) }
            }
            return remainder
        }
    }

    // MARK: The matrix

    struct Matrix {
        let version: Int
        var dark: [[Bool]]
        /// Modules of function patterns, which data and masks leave alone.
        var reserved: [[Bool]]

        init(version: Int) {
            self.version = version
            let size = 17 + 4 * version
            dark = Array(repeating: Array(repeating: false, count: size), count: size)
            reserved = dark
        }

        var size: Int { dark.count }

        mutating func set(_ row: Int, _ column: Int, _ value: Bool) {
            dark[row][column] = value
            reserved[row][column] = true
        }

        static let alignment: [[Int]] = [
            [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50], [6, 30, 54],
            [6, 32, 58], [6, 34, 62], [6, 26, 46, 66], [6, 26, 48, 70],
        ]

        mutating func placeFunctionPatterns() {
            for (row, column) in [(0, 0), (0, size - 7), (size - 7, 0)] {
                for r in -1...7 {
                    for c in -1...7 {
                        let y = row + r, x = column + c
                        guard y >= 0, y < size, x >= 0, x < size else { continue }
                        let inside = (0...6).contains(r) && (0...6).contains(c)
                        let ring = r == 0 || r == 6 || c == 0 || c == 6
                        let core = (2...4).contains(r) && (2...4).contains(c)
                        set(y, x, inside && (ring || core))
                    }
                }
            }
            for i in 8..<(size - 8) {
                set(6, i, i % 2 == 0)
                set(i, 6, i % 2 == 0)
            }
            let centres = Self.alignment[version - 1]
            for row in centres {
                for column in centres {
                    // Not over the finders.
                    if (row == 6 && column == 6) || (row == 6 && column == centres.last!) || (row == centres.last! && column == 6) { continue }
                    for r in -2...2 { for c in -2...2 { set(row + r, column + c, max(abs(r), abs(c)) != 1) } }
                }
            }
            // The format areas (written after masking) and the dark module.
            for i in 0..<9 {
                reserved[8][i] = true
                reserved[i][8] = true
            }
            for i in 0..<8 {
                reserved[8][size - 1 - i] = true
                reserved[size - 1 - i][8] = true
            }
            set(size - 8, 8, true)
            if version >= 7 {
                let bits = Self.bch(version, 0x1F25, 12)
                for i in 0..<18 {
                    let bit = (bits >> i) & 1 == 1
                    let a = size - 11 + i % 3, b = i / 3
                    set(b, a, bit)
                    set(a, b, bit)
                }
            }
        }

        /// Data bits in the zigzag from the bottom right, two columns at a time, skipping the timing column.
        mutating func placeData(_ codewords: [UInt8]) {
            var bit = 0
            let total = codewords.count * 8
            var column = size - 1
            var upward = true
            while column > 0 {
                if column == 6 { column -= 1 }
                for step in 0..<size {
                    let row = upward ? size - 1 - step : step
                    for c in [column, column - 1] where !reserved[row][c] {
                        if bit < total { dark[row][c] = (codewords[bit / 8] >> (7 - bit % 8)) & 1 == 1 }
                        bit += 1
                    }
                }
                upward.toggle()
                column -= 2
            }
        }

        static func masked(_ mask: Int, _ row: Int, _ column: Int) -> Bool {
            switch mask {
            case 0: (row + column) % 2 == 0
            case 1: row % 2 == 0
            case 2: column % 3 == 0
            case 3: (row + column) % 3 == 0
            case 4: (row / 2 + column / 3) % 2 == 0
            case 5: (row * column) % 2 + (row * column) % 3 == 0
            case 6: ((row * column) % 2 + (row * column) % 3) % 2 == 0
            default: ((row + column) % 2 + (row * column) % 3) % 2 == 0
            }
        }

        mutating func apply(mask: Int) {
            for row in 0..<size {
                for column in 0..<size where !reserved[row][column] && Self.masked(mask, row, column) { dark[row][column].toggle() }
            }
        }

        /// The 15 format bits: level M (00) and the mask, BCH-coded and XORed with 101010000010010.
        mutating func placeFormat(mask: Int) {
            let bits = Self.bch(mask, 0x537, 10) ^ 0x5412
            func bit(_ i: Int) -> Bool { (bits >> i) & 1 == 1 }
            for i in 0..<6 { dark[i][8] = bit(i) }
            dark[7][8] = bit(6)
            dark[8][8] = bit(7)
            dark[8][7] = bit(8)
            for i in 9..<15 { dark[8][14 - i] = bit(i) }
            for i in 0..<8 { dark[8][size - 1 - i] = bit(i) }
            for i in 8..<15 { dark[size - 15 + i][8] = bit(i) }
            dark[size - 8][8] = true
        }

        /// A value followed by the remainder of its BCH code.
        static func bch(_ value: Int, _ generator: Int, _ degree: Int) -> Int {
            var remainder = value << degree
            let top = Int.bitWidth - generator.leadingZeroBitCount
            while remainder != 0 && Int.bitWidth - remainder.leadingZeroBitCount >= top {
                remainder ^= generator << ((Int.bitWidth - remainder.leadingZeroBitCount) - top)
            }
            return value << degree | remainder
        }

        /// ISO 18004's penalty: runs, 2×2 blocks, finder-like patterns, and the balance of dark and light.
        func penalty() -> Int {
            var score = 0
            for transposed in [false, true] {
                for i in 0..<size {
                    var run = 1
                    for j in 1..<size {
                        let a = transposed ? dark[j - 1][i] : dark[i][j - 1], b = transposed ? dark[j][i] : dark[i][j]
                        if a == b {
                            run += 1
                        } else {
                            if run >= 5 { score += run - 2 }
                            run = 1
                        }
                    }
                    if run >= 5 { score += run - 2 }
                    let line = (0..<size).map { transposed ? dark[$0][i] : dark[i][$0] }
                    let pattern: [Bool] = [true, false, true, true, true, false, true]
                    for j in 0...(size - 7) where Array(line[j..<j + 7]) == pattern {
                        let before = j >= 4 && !line[(j - 4)..<j].contains(true)
                        let after = j + 11 <= size && !line[(j + 7)..<(j + 11)].contains(true)
                        if before || after { score += 40 }
                    }
                }
            }
            for row in 0..<(size - 1) {
                for column in 0..<(size - 1) {
                    let a = dark[row][column]
                    if a == dark[row][column + 1] && a == dark[row + 1][column] && a == dark[row + 1][column + 1] { score += 3 }
                }
            }
            let darkCount = dark.reduce(0) { $0 + $1.filter { $0 }.count }
            score += abs(darkCount * 20 - size * size * 10) / (size * size) * 10
            return score
        }
    }
}
