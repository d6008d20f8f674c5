// libhdf5 (serial) for Swift. Many of hdf5.h's constants are macros that
// expand to library globals behind H5open() (H5T_NATIVE_FLOAT, ...) or to
// casts Swift cannot import (H5P_DEFAULT, H5S_ALL); these static inline
// functions give them to Swift as calls.
#include <hdf5.h>

static inline hid_t latentlab_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t latentlab_H5S_ALL(void) { return H5S_ALL; }
static inline hid_t latentlab_H5P_FILE_CREATE(void) { return H5P_FILE_CREATE; }
static inline hid_t latentlab_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t latentlab_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t latentlab_H5P_GROUP_CREATE(void) { return H5P_GROUP_CREATE; }
static inline hid_t latentlab_H5P_OBJECT_CREATE(void) { return H5P_OBJECT_CREATE; }
static inline hid_t latentlab_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t latentlab_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t latentlab_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t latentlab_H5T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t latentlab_H5T_C_S1(void) { return H5T_C_S1; }
static inline unsigned latentlab_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned latentlab_H5F_ACC_EXCL(void) { return H5F_ACC_EXCL; }
static inline unsigned latentlab_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned latentlab_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
