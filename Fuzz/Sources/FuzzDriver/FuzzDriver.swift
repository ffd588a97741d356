// The entry point of a fuzz target. libFuzzer brings its own `main`, but SwiftPM links a debug executable with `main`
// pointing at `<module>_main` (so that tests can import executables); each target therefore defines that symbol and
// hands over to libFuzzer's driver, which then parses the command line as its own `main` would.

public typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

// int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                                 _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                                 _ callback: FuzzCallback) -> Int32

/// Runs libFuzzer on `callback` with the process's arguments.
public func runFuzzer(argc: Int32, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ callback: FuzzCallback) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}
