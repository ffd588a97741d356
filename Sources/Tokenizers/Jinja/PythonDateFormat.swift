import Foundation

/// `datetime.strftime` for `strftime_now` (the date line of Llama 3's system prompt), with C-locale names.
enum PythonDateFormat {
    static let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                         "October", "November", "December"]
    static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    static func format(_ date: Date, _ pattern: String, timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let year = c.year ?? 1970, month = c.month ?? 1, day = c.day ?? 1
        let hour = c.hour ?? 0, minute = c.minute ?? 0, second = c.second ?? 0, weekday = (c.weekday ?? 1) - 1
        let dayOfYear = calendar.ordinality(of: .day, in: .year, for: date) ?? 1
        func pad(_ n: Int, _ width: Int = 2) -> String {
            let digits = String(n)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        var out = ""
        var scalars = pattern.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            guard scalar == "%" else { out.unicodeScalars.append(scalar); continue }
            guard var code = scalars.next() else { out += "%"; break }
            var unpadded = false
            if code == "-", let next = scalars.next() { unpadded = true; code = next }
            func number(_ n: Int, _ width: Int = 2) -> String { unpadded ? String(n) : pad(n, width) }
            switch code {
            case "d": out += number(day)
            case "e": out += unpadded ? String(day) : (day < 10 ? " \(day)" : String(day))
            case "m": out += number(month)
            case "Y": out += String(year)
            case "y": out += number(year % 100)
            case "H": out += number(hour)
            case "I": out += number(hour % 12 == 0 ? 12 : hour % 12)
            case "M": out += number(minute)
            case "S": out += number(second)
            case "p": out += hour < 12 ? "AM" : "PM"
            case "j": out += number(dayOfYear, 3)
            case "b", "h": out += String(months[month - 1].prefix(3))
            case "B": out += months[month - 1]
            case "a": out += String(weekdays[weekday].prefix(3))
            case "A": out += weekdays[weekday]
            case "w": out += String(weekday)
            case "%": out += "%"
            default: out += "%"; out.unicodeScalars.append(code)
            }
        }
        return out
    }
}
