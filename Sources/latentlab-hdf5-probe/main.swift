import Foundation
import HDF5

// latentlab-hdf5-probe FILE: opens an HDF5 file, walks every object and attribute and reads
// every dataset, so that a process about to read the file learns whether libhdf5 survives it
// (see HDF5Probe). It exits 0 whatever it finds, unless libhdf5 crashes; errors are the
// caller's to meet and report.
guard CommandLine.arguments.count == 2 else {
  FileHandle.standardError.write(Data("usage: latentlab-hdf5-probe FILE\n".utf8))
  exit(64)
}
let path = CommandLine.arguments[1]
if let file = try? HDF5File.open(path: path, probe: false) {
  for object in HDF5Tree(file).objects where object.kind == "dataset" {
    _ = try? file.readValues(object.path)
  }
  try? file.close()
}
exit(0)
