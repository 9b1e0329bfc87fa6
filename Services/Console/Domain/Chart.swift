/// Bar charts drawn by the console as SVG, inside the page: nothing for a third party to render, no script.
/// Each series is a chart of its own with its name as a title, so that no reading depends on colour; the
/// page puts the same figures in a table beside it for screen readers and for copying.
enum BarChart {
    /// One chart.
    /// - Parameters:
    ///   - id: Unique on the page; names the chart's title for `aria-labelledby`.
    ///   - title: What is counted, e.g. "new cases".
    ///   - description: What the chart shows in a sentence (read by screen readers with the title).
    ///   - labels: One per bar (e.g. `11-17`); the first and last are written under the axis.
    ///   - values: One per bar, not negative.
    /// - Returns: An `<svg>` element.
    static func svg(id: String, title: String, description: String, labels: [String], values: [Int]) -> String {
        let count = max(values.count, 1)
        let width = 320, height = 150
        let left = 34, right = 6, top = 12, bottom = 22
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let peak = max(values.max() ?? 0, 1)
        let step = Double(plotWidth) / Double(count)
        let barWidth = max(step * 0.7, 1)
        var parts: [String] = []
        parts.append(#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \#(width) \#(height)" role="img" aria-labelledby="\#(escape(id))-t \#(escape(id))-d" class="chart">"#)
        parts.append(#"<title id="\#(escape(id))-t">\#(escape(title))</title>"#)
        parts.append(#"<desc id="\#(escape(id))-d">\#(escape(description))</desc>"#)
        // The axis: zero and the largest value, both written.
        parts.append(#"<line x1="\#(left)" y1="\#(top + plotHeight)" x2="\#(width - right)" y2="\#(top + plotHeight)" class="axis"/>"#)
        parts.append(#"<line x1="\#(left)" y1="\#(top)" x2="\#(left)" y2="\#(top + plotHeight)" class="axis"/>"#)
        parts.append(#"<text x="\#(left - 4)" y="\#(top + 4)" text-anchor="end">\#(peak)</text>"#)
        parts.append(#"<text x="\#(left - 4)" y="\#(top + plotHeight)" text-anchor="end">0</text>"#)
        for (index, value) in values.enumerated() {
            let barHeight = Double(plotHeight) * Double(max(value, 0)) / Double(peak)
            let x = Double(left) + Double(index) * step + (step - barWidth) / 2
            let y = Double(top + plotHeight) - barHeight
            let label = index < labels.count ? labels[index] : ""
            parts.append(#"<rect x="\#(format(x))" y="\#(format(y))" width="\#(format(barWidth))" height="\#(format(barHeight))" class="bar"><title>\#(escape(label)): \#(value)</title></rect>"#)
        }
        if let first = labels.first, let last = labels.last {
            parts.append(#"<text x="\#(left)" y="\#(height - 6)">\#(escape(first))</text>"#)
            parts.append(#"<text x="\#(width - right)" y="\#(height - 6)" text-anchor="end">\#(escape(last))</text>"#)
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }

    /// Bars across the page, one per category, each with its name and its figure written beside it: for
    /// counts by tier, ledger, school or district, where every bar must be read by its name.
    /// - Parameters:
    ///   - id: Unique on the page; names the chart's title and description for `aria-labelledby`.
    ///   - title: What is counted.
    ///   - description: What the chart shows in a sentence (read by screen readers with the title).
    ///   - labels: One per bar, in the order drawn (top to bottom).
    ///   - values: One per bar, not negative.
    /// - Returns: An `<svg>` element.
    static func horizontal(id: String, title: String, description: String, labels: [String], values: [Int]) -> String {
        let rowHeight = 22, labelWidth = 150, valueWidth = 56, width = 480, top = 4
        let height = top * 2 + max(values.count, 1) * rowHeight
        let plotWidth = width - labelWidth - valueWidth
        let peak = max(values.max() ?? 0, 1)
        let key = escape(id)
        var parts: [String] = []
        parts.append(#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \#(width) \#(height)" role="img" aria-labelledby="\#(key)-t \#(key)-d" class="chart">"#)
        parts.append(#"<title id="\#(key)-t">\#(escape(title))</title>"#)
        parts.append(#"<desc id="\#(key)-d">\#(escape(description))</desc>"#)
        parts.append(#"<line x1="\#(labelWidth)" y1="\#(top)" x2="\#(labelWidth)" y2="\#(height - top)" class="axis"/>"#)
        for (index, value) in values.enumerated() {
            let y = top + index * rowHeight
            let barWidth = Double(plotWidth) * Double(max(value, 0)) / Double(peak)
            let label = index < labels.count ? labels[index] : ""
            parts.append(#"<text x="\#(labelWidth - 6)" y="\#(y + 15)" text-anchor="end">\#(escape(label))</text>"#)
            parts.append(#"<rect x="\#(labelWidth)" y="\#(y + 4)" width="\#(format(barWidth))" height="\#(rowHeight - 8)" class="bar"><title>\#(escape(label)): \#(value)</title></rect>"#)
            parts.append(#"<text x="\#(format(Double(labelWidth) + barWidth + 4))" y="\#(y + 15)">\#(value)</text>"#)
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }

    static func format(_ value: Double) -> String {
        String(Double((value * 10).rounded()) / 10)
    }

    /// Text made safe inside SVG markup.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

/// Lines over periods (a rating's schools quarter by quarter), drawn by the console as SVG. Each series has a
/// marker shape and a dash of its own and is named in a legend, so that none is told apart by colour alone.
enum LineChart {
    struct Series {
        var name: String
        var values: [Int]
    }

    /// - Parameters:
    ///   - id: Unique on the page; names the chart's title and description for `aria-labelledby`.
    ///   - title: What is drawn.
    ///   - description: What the chart shows in a sentence.
    ///   - labels: One per period, written under the axis.
    ///   - series: Up to three, each a value per period.
    /// - Returns: An `<svg>` element.
    static func svg(id: String, title: String, description: String, labels: [String], series: [Series]) -> String {
        let width = 480, height = 220, left = 34, right = 12, top = 30, bottom = 26
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let peak = max(series.flatMap(\.values).max() ?? 0, 1)
        let step = labels.count > 1 ? Double(plotWidth) / Double(labels.count - 1) : 0
        let dashes = ["", #" stroke-dasharray="6 3""#, #" stroke-dasharray="2 3""#]
        let key = BarChart.escape(id)
        func x(_ index: Int) -> Double { Double(left) + (labels.count > 1 ? Double(index) * step : Double(plotWidth) / 2) }
        func y(_ value: Int) -> Double { Double(top + plotHeight) - Double(plotHeight) * Double(max(value, 0)) / Double(peak) }
        func marker(_ kind: Int, _ cx: Double, _ cy: Double, _ tip: String) -> String {
            let f = BarChart.format
            switch kind % 3 {
            case 0: return #"<circle cx="\#(f(cx))" cy="\#(f(cy))" r="4" class="mark"><title>\#(tip)</title></circle>"#
            case 1: return #"<rect x="\#(f(cx - 4))" y="\#(f(cy - 4))" width="8" height="8" class="mark"><title>\#(tip)</title></rect>"#
            default:
                return #"<polygon points="\#(f(cx)),\#(f(cy - 5)) \#(f(cx + 5)),\#(f(cy + 4)) \#(f(cx - 5)),\#(f(cy + 4))" class="mark"><title>\#(tip)</title></polygon>"#
            }
        }
        var parts: [String] = []
        parts.append(#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \#(width) \#(height)" role="img" aria-labelledby="\#(key)-t \#(key)-d" class="chart">"#)
        parts.append(#"<title id="\#(key)-t">\#(BarChart.escape(title))</title>"#)
        parts.append(#"<desc id="\#(key)-d">\#(BarChart.escape(description))</desc>"#)
        parts.append(#"<line x1="\#(left)" y1="\#(top + plotHeight)" x2="\#(width - right)" y2="\#(top + plotHeight)" class="axis"/>"#)
        parts.append(#"<line x1="\#(left)" y1="\#(top)" x2="\#(left)" y2="\#(top + plotHeight)" class="axis"/>"#)
        parts.append(#"<text x="\#(left - 4)" y="\#(top + 4)" text-anchor="end">\#(peak)</text>"#)
        parts.append(#"<text x="\#(left - 4)" y="\#(top + plotHeight)" text-anchor="end">0</text>"#)
        for (index, label) in labels.enumerated() {
            parts.append(#"<text x="\#(BarChart.format(x(index)))" y="\#(height - 8)" text-anchor="middle">\#(BarChart.escape(label))</text>"#)
        }
        for (index, line) in series.enumerated() {
            // The legend: the series' marker and name, side by side along the top.
            let legendX = Double(left + index * 150)
            parts.append(marker(index, legendX + 6, 12, BarChart.escape(line.name)))
            parts.append(#"<text x="\#(BarChart.format(legendX + 16))" y="16">\#(BarChart.escape(line.name))</text>"#)
            let points = line.values.enumerated().map { "\(BarChart.format(x($0.offset))),\(BarChart.format(y($0.element)))" }.joined(separator: " ")
            parts.append(#"<polyline points="\#(points)" class="line"\#(dashes[index % 3])/>"#)
            for (period, value) in line.values.enumerated() {
                let label = period < labels.count ? labels[period] : ""
                parts.append(marker(index, x(period), y(value), BarChart.escape("\(label) \(line.name): \(value)")))
            }
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }
}
