// libhdf5 (serial) for Swift. Many of hdf5.h's constants are macros that
// expand to library globals behind H5open() (H5T_NATIVE_FLOAT, ...) or to
// casts Swift cannot import (H5P_DEFAULT, H5S_ALL); these static inline
// functions give them to Swift as calls.
#include <hdf5.h>
#include <stdio.h>
#include <string.h>

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

static inline hid_t latentlab_H5E_DEFAULT(void) { return H5E_DEFAULT; }
static inline hid_t latentlab_H5T_NATIVE_UINT64(void) { return H5T_NATIVE_UINT64; }
static inline size_t latentlab_H5T_VARIABLE(void) { return H5T_VARIABLE; }
static inline unsigned latentlab_H5F_OBJ_ALL(void) { return H5F_OBJ_ALL; }

/// Turns off libhdf5's printing of its error stack: LatentLab reports errors itself.
static inline herr_t latentlab_h5_silence_errors(void) {
  return H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static herr_t latentlab_h5_error_walker(unsigned n, const H5E_error2_t *err, void *data) {
  char *buffer = (char *)data;
  if (buffer[0] == '\0' && err && err->desc) {
    snprintf(buffer, 400, "%s (in %s)", err->desc, err->func_name ? err->func_name : "?");
  }
  /* A failed system call deeper down the stack says why ("File too large", "No space left
     on device"): add it once. */
  const char *marker = err && err->desc ? strstr(err->desc, "error message = '") : NULL;
  if (marker && !strstr(buffer, "; system: ")) {
    const char *start = marker + strlen("error message = '");
    const char *end = strchr(start, '\'');
    size_t used = strlen(buffer);
    int length = end ? (int)(end - start) : (int)strlen(start);
    snprintf(buffer + used, 512 - used, "; system: %.*s", length, start);
  }
  (void)n;
  return 0;
}

/// Copies the innermost description on libhdf5's error stack into `buffer` (512 bytes)
/// and clears the stack.
static inline void latentlab_h5_take_error(char buffer[512]) {
  buffer[0] = '\0';
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, latentlab_h5_error_walker, buffer);
  H5Eclear2(H5E_DEFAULT);
}

/// H5Literate under its 1.10 name and its later one.
static inline herr_t latentlab_H5Literate(hid_t group, H5L_iterate_t op, void *data) {
  hsize_t index = 0;
  return H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, op, data);
}
