import Foundation

/// A table to download: a header row and rows of text or numbers, written as CSV (UTF-8 with a byte order
/// mark, so that Excel and WPS read Chinese) or as an XLSX workbook of one sheet. Nothing from outside:
/// the workbook's zip is written here, stored without compression.
struct ExportTable: Sendable {
    enum Cell: Sendable, Equatable {
        case text(String)
        case number(Double)
    }

    /// The sheet's name in the workbook (at most 31 characters).
    var name: String
    var header: [String]
    var rows: [[Cell]]

    enum Format: String, Sendable, CaseIterable {
        case csv, xlsx

        var contentType: String {
            switch self {
            case .csv: "text/csv; charset=utf-8"
            case .xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }

    func bytes(_ format: Format) -> [UInt8] {
        switch format {
        case .csv: csv()
        case .xlsx: xlsx()
        }
    }

    // MARK: CSV

    /// RFC 4180 with CRLF line ends, after a UTF-8 byte order mark. A text cell that a spreadsheet would take
    /// for a formula (it begins with `=`, `+`, `-`, `@`, a tab or a carriage return) is written with a leading
    /// apostrophe, so that opening an export never runs what someone typed into a field.
    func csv() -> [UInt8] {
        var out: [UInt8] = [0xEF, 0xBB, 0xBF]
        func line(_ cells: [String]) {
            out += Array(cells.map(Self.quoted).joined(separator: ",").utf8)
            out += [13, 10]
        }
        line(header.map(Self.defused))
        for row in rows {
            line(row.map { cell in
                switch cell {
                case .text(let text): Self.defused(text)
                case .number(let number): Self.number(number)
                }
            })
        }
        return out
    }

    static func defused(_ text: String) -> String {
        guard let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return text }
        return "'" + text
    }

    static func quoted(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    // MARK: XLSX

    /// An Office Open XML workbook of one sheet; text as inline strings, the header row bold.
    func xlsx() -> [UInt8] {
        var sheet = #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"# + "\n"
        sheet += #"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#
        func row(_ index: Int, _ cells: [Cell], style: Int) {
            sheet += #"<row r="\#(index)">"#
            for (column, cell) in cells.enumerated() {
                let reference = Self.column(column) + String(index)
                let styled = style == 0 ? "" : #" s="\#(style)""#
                switch cell {
                case .text(let text):
                    sheet += #"<c r="\#(reference)" t="inlineStr"\#(styled)><is><t xml:space="preserve">\#(Self.xml(text))</t></is></c>"#
                case .number(let number):
                    sheet += #"<c r="\#(reference)"\#(styled)><v>\#(Self.number(number))</v></c>"#
                }
            }
            sheet += "</row>"
        }
        row(1, header.map(Cell.text), style: 1)
        for (index, cells) in rows.enumerated() { row(index + 2, cells, style: 0) }
        sheet += "</sheetData></worksheet>"
        let sheetName = Self.xml(String(name.prefix(31)))
        let files: [(String, String)] = [
            ("[Content_Types].xml", """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
                <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
                <Default Extension="xml" ContentType="application/xml"/>\
                <Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
                <Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
                <Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
                </Types>
                """),
            ("_rels/.rels", """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
                <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>\
                </Relationships>
                """),
            ("xl/workbook.xml", """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
                xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\
                <sheets><sheet name="\(sheetName)" sheetId="1" r:id="rId1"/></sheets></workbook>
                """),
            ("xl/_rels/workbook.xml.rels", """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
                <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>\
                <Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>\
                </Relationships>
                """),
            ("xl/styles.xml", """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
                <fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>\
                <fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>\
                <borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
                <cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
                <cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
                <xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>\
                </styleSheet>
                """),
            ("xl/worksheets/sheet1.xml", sheet),
        ]
        return StoredZip.archive(files.map { ($0.0, Array($0.1.utf8)) })
    }

    /// `A`, `B`, … `Z`, `AA`, … for a zero-based column.
    static func column(_ index: Int) -> String {
        var index = index + 1
        var letters = ""
        while index > 0 {
            let remainder = (index - 1) % 26
            letters = String(UnicodeScalar(UInt8(65 + remainder))) + letters
            index = (index - 1) / 26
        }
        return letters
    }

    /// Text made safe in XML, without the control characters XML 1.0 forbids.
    static func xml(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value >= 0x20 && scalar.value != 0xFFFE && scalar.value != 0xFFFF { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}

/// A zip archive whose files are stored as they are (method 0), which every reader of XLSX accepts.
enum StoredZip {
    /// - Parameter files: Each file's path inside the archive and its bytes.
    /// - Returns: The archive.
    static func archive(_ files: [(path: String, bytes: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        var directory: [UInt8] = []
        // 1980-01-01 00:00, the earliest time a zip can say: the archive's bytes do not depend on the clock.
        let time: UInt16 = 0, date: UInt16 = (0 << 9) | (1 << 5) | 1
        for file in files {
            let name = Array(file.path.utf8)
            let crc = crc32(file.bytes)
            let offset = UInt32(out.count)
            out += le32(0x0403_4B50) + le16(20) + le16(0x0800) + le16(0) + le16(time) + le16(date)
            out += le32(crc) + le32(UInt32(file.bytes.count)) + le32(UInt32(file.bytes.count)) + le16(UInt16(name.count)) + le16(0)
            out += name + file.bytes
            directory += le32(0x0201_4B50) + le16(20) + le16(20) + le16(0x0800) + le16(0) + le16(time) + le16(date)
            directory += le32(crc) + le32(UInt32(file.bytes.count)) + le32(UInt32(file.bytes.count)) + le16(UInt16(name.count))
            directory += le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(offset) + name
        }
        let start = UInt32(out.count)
        out += directory
        out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(UInt16(files.count)) + le16(UInt16(files.count))
        out += le32(UInt32(directory.count)) + le32(start) + le16(0)
        return out
    }

    static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    static func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xFF) } }

    static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    /// CRC-32 (IEEE 802.3), as zip uses.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
