import Foundation
import HDF5

// latentlab-hdf5-copy SOURCE DESTINATION: the child process of HDF5SafeCopy. It reads an
// untrusted HDF5 file and copies every object it can into DESTINATION, printing what it left
// out (one `path: reason` line each). If libhdf5 crashes on the file, it crashes here, and
// the parent reports an error naming the file.
let arguments = CommandLine.arguments
guard arguments.count == 3 else {
  FileHandle.standardError.write(Data("usage: latentlab-hdf5-copy SOURCE DESTINATION\n".utf8))
  exit(HDF5SafeCopy.ExitStatus.usage.rawValue)
}
do {
  for line in try HDF5File.copyReadableContents(from: arguments[1], to: arguments[2]) { print(line) }
} catch let error as HDF5Error {
  // The parent names the file and the operation; it wants libhdf5's reason only.
  switch error {
  case .typeMismatch: exit(HDF5SafeCopy.ExitStatus.notHDF5.rawValue)
  case .callFailed(_, _, _, let detail): print(detail)
  default: print(error)
  }
  exit(HDF5SafeCopy.ExitStatus.cannotOpen.rawValue)
} catch {
  print(error)
  exit(HDF5SafeCopy.ExitStatus.cannotWrite.rawValue)
}
