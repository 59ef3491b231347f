/* The ublk kernel interface: the 6.12 layout ublkd uses, and the names of
 * every command and feature bit up to Linux 7.3 (checked against the
 * kernel's include/uapi/linux/ublk_cmd.h at "ublk: add UBLK_F_IO_DESC_SIZE",
 * 5c0958d80190). Written for ublkd from that layout; the bookworm
 * <linux/ublk_cmd.h> is from 6.1 and too old to use. */
#ifndef UBLKD_UBLK_UAPI_H
#define UBLKD_UBLK_UAPI_H

#include <linux/types.h>
#include <sys/ioctl.h>

/* Legacy command numbers; the ioctl forms below carry them as _IOC_NR. */
#define UBLK_CMD_GET_QUEUE_AFFINITY	0x01
#define UBLK_CMD_GET_DEV_INFO		0x02
#define UBLK_CMD_ADD_DEV		0x04
#define UBLK_CMD_DEL_DEV		0x05
#define UBLK_CMD_START_DEV		0x06
#define UBLK_CMD_STOP_DEV		0x07
#define UBLK_CMD_SET_PARAMS		0x08
#define UBLK_CMD_GET_PARAMS		0x09
#define UBLK_CMD_START_USER_RECOVERY	0x10
#define UBLK_CMD_END_USER_RECOVERY	0x11
#define UBLK_CMD_GET_DEV_INFO2		0x12

#define UBLK_IO_FETCH_REQ		0x20
#define UBLK_IO_COMMIT_AND_FETCH_REQ	0x21
#define UBLK_IO_NEED_GET_DATA		0x22

struct ublksrv_ctrl_cmd {
	__u32 dev_id;
	__u16 queue_id;
	__u16 len;
	__u64 addr;
	__u64 data[1];
	__u16 dev_path_len;
	__u16 pad;
	__u32 reserved;
};

struct ublksrv_ctrl_dev_info {
	__u16 nr_hw_queues;
	__u16 queue_depth;
	__u16 state;
	__u16 io_desc_size;	/* 7.3, with UBLK_F_IO_DESC_SIZE; else 0 (24) */
	__u32 max_io_buf_bytes;
	__u32 dev_id;
	__s32 ublksrv_pid;
	__u32 pad1;
	__u64 flags;
	__u64 ublksrv_flags;
	__u32 owner_uid;
	__u32 owner_gid;
	__u64 reserved1;
	__u64 reserved2;
};

struct ublksrv_io_cmd {
	__u16 q_id;
	__u16 tag;
	__s32 result;
	__u64 addr;
};

struct ublksrv_io_desc {
	__u32 op_flags;
	__u32 nr_sectors;
	__u64 start_sector;
	__u64 addr;
};

#define UBLK_U_CMD_GET_QUEUE_AFFINITY	_IOR('u', 0x01, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_GET_DEV_INFO		_IOR('u', 0x02, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_ADD_DEV		_IOWR('u', 0x04, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_DEL_DEV		_IOWR('u', 0x05, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_START_DEV		_IOWR('u', 0x06, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_STOP_DEV		_IOWR('u', 0x07, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_SET_PARAMS		_IOWR('u', 0x08, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_GET_PARAMS		_IOR('u', 0x09, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_START_USER_RECOVERY	_IOWR('u', 0x10, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_END_USER_RECOVERY	_IOWR('u', 0x11, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_GET_DEV_INFO2	_IOR('u', 0x12, struct ublksrv_ctrl_cmd)
/* From here on there is no legacy number: _IOC_NR(UBLK_U_CMD_...) is it. */
#define UBLK_U_CMD_GET_FEATURES		_IOR('u', 0x13, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_DEL_DEV_ASYNC	_IOR('u', 0x14, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_UPDATE_SIZE		_IOWR('u', 0x15, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_QUIESCE_DEV		_IOWR('u', 0x16, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_TRY_STOP_DEV		_IOWR('u', 0x17, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_REG_BUF		_IOWR('u', 0x18, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_UNREG_BUF		_IOWR('u', 0x19, struct ublksrv_ctrl_cmd)

#define UBLK_U_IO_FETCH_REQ		_IOWR('u', 0x20, struct ublksrv_io_cmd)
#define UBLK_U_IO_COMMIT_AND_FETCH_REQ	_IOWR('u', 0x21, struct ublksrv_io_cmd)
#define UBLK_U_IO_NEED_GET_DATA		_IOWR('u', 0x22, struct ublksrv_io_cmd)

/* UBLK_F_BATCH_IO (7.0): per-queue commands instead of one per tag.
 * PREP_IO_CMDS and COMMIT_IO_CMDS carry in sqe->addr an array of nr_elem
 * elements of elem_bytes each: a ublk_elem_header, then with
 * UBLK_BATCH_F_HAS_BUF_ADDR the tag's buffer address (u64). PREP answers
 * 0 or -errno; COMMIT the bytes of the array it handled (the elements
 * after them were not committed) or -errno when it handled none.
 * FETCH_IO_CMDS is multishot (IORING_URING_CMD_MULTISHOT, a provided
 * buffer ring in sqe->buf_group): each CQE carries res bytes of u16 tags
 * in the buffer it names; elem_bytes 2, flags 0. */
struct ublk_elem_header {
	__u16 tag;
	__u16 buf_index;	/* UBLK_F_AUTO_BUF_REG only */
	__s32 result;		/* COMMIT only */
};

struct ublk_batch_io {
	__u16 q_id;
	__u16 flags;
	__u16 nr_elem;
	__u8 elem_bytes;
	__u8 reserved;
	__u64 reserved2;
};

#define UBLK_BATCH_F_HAS_ZONE_LBA		(1U << 0)
#define UBLK_BATCH_F_HAS_BUF_ADDR		(1U << 1)
#define UBLK_BATCH_F_AUTO_BUF_REG_FALLBACK	(1U << 2)

#define UBLK_U_IO_PREP_IO_CMDS		_IOWR('u', 0x25, struct ublk_batch_io)
#define UBLK_U_IO_COMMIT_IO_CMDS	_IOWR('u', 0x26, struct ublk_batch_io)
#define UBLK_U_IO_FETCH_IO_CMDS		_IOWR('u', 0x27, struct ublk_batch_io)

/* UBLK_F_USER_COPY: where a request's data lies in the char device, for
 * pread and pwrite (queue in bits 41 and up, tag in 25-40, byte below). */
#define UBLKSRV_IO_BUF_OFFSET		0x80000000ULL
#define UBLK_TAG_OFF			25
#define UBLK_QID_OFF			41

/* Feature flags (ublksrv_ctrl_dev_info.flags, GET_FEATURES). */
#define UBLK_F_SUPPORT_ZERO_COPY	(1ULL << 0)
#define UBLK_F_URING_CMD_COMP_IN_TASK	(1ULL << 1)
#define UBLK_F_NEED_GET_DATA		(1ULL << 2)
#define UBLK_F_USER_RECOVERY		(1ULL << 3)
#define UBLK_F_USER_RECOVERY_REISSUE	(1ULL << 4)
#define UBLK_F_UNPRIVILEGED_DEV		(1ULL << 5)
#define UBLK_F_CMD_IOCTL_ENCODE		(1ULL << 6)
#define UBLK_F_USER_COPY		(1ULL << 7)
#define UBLK_F_ZONED			(1ULL << 8)
#define UBLK_F_USER_RECOVERY_FAIL_IO	(1ULL << 9)
#define UBLK_F_UPDATE_SIZE		(1ULL << 10)
#define UBLK_F_AUTO_BUF_REG		(1ULL << 11)
#define UBLK_F_QUIESCE			(1ULL << 12)
#define UBLK_F_PER_IO_DAEMON		(1ULL << 13)
#define UBLK_F_BUF_REG_OFF_DAEMON	(1ULL << 14)
#define UBLK_F_BATCH_IO			(1ULL << 15)
#define UBLK_F_INTEGRITY		(1ULL << 16)
#define UBLK_F_SAFE_STOP_DEV		(1ULL << 17)
#define UBLK_F_NO_AUTO_PART_SCAN	(1ULL << 18)
#define UBLK_F_SHMEM_ZC			(1ULL << 19)
#define UBLK_F_IO_DESC_SIZE		(1ULL << 20)

/* Device states (ublksrv_ctrl_dev_info.state). */
#define UBLK_S_DEV_DEAD		0
#define UBLK_S_DEV_LIVE		1
#define UBLK_S_DEV_QUIESCED	2
#define UBLK_S_DEV_FAIL_IO	3

/* Results in the CQE of FETCH / COMMIT_AND_FETCH. */
#define UBLK_IO_RES_OK			0
#define UBLK_IO_RES_NEED_GET_DATA	1
#define UBLK_IO_RES_ABORT		(-19)

/* Descriptor array layout on /dev/ublkcN. */
#define UBLKSRV_CMD_BUF_OFFSET	0
#define UBLK_MAX_QUEUE_DEPTH	4096
#define UBLK_MAX_NR_QUEUES	4096

/* Operations in ublksrv_io_desc.op_flags bits 0-7. */
#define UBLK_IO_OP_READ		0
#define UBLK_IO_OP_WRITE	1
#define UBLK_IO_OP_FLUSH	2
#define UBLK_IO_OP_DISCARD	3
#define UBLK_IO_OP_WRITE_SAME	4
#define UBLK_IO_OP_WRITE_ZEROES	5

/* Flags, at their bit positions in op_flags. */
#define UBLK_IO_F_FAILFAST_DEV		(1U << 8)
#define UBLK_IO_F_FAILFAST_TRANSPORT	(1U << 9)
#define UBLK_IO_F_FAILFAST_DRIVER	(1U << 10)
#define UBLK_IO_F_META			(1U << 11)
#define UBLK_IO_F_FUA			(1U << 13)
#define UBLK_IO_F_NOUNMAP		(1U << 15)
#define UBLK_IO_F_SWAP			(1U << 16)

/* Parameters (SET_PARAMS / GET_PARAMS). */
#define UBLK_ATTR_READ_ONLY	(1U << 0)
#define UBLK_ATTR_ROTATIONAL	(1U << 1)
#define UBLK_ATTR_VOLATILE_CACHE (1U << 2)
#define UBLK_ATTR_FUA		(1U << 3)

struct ublk_param_basic {
	__u32 attrs;
	__u8 logical_bs_shift;
	__u8 physical_bs_shift;
	__u8 io_opt_shift;
	__u8 io_min_shift;
	__u32 max_sectors;
	__u32 chunk_sectors;
	__u64 dev_sectors;
	__u64 virt_boundary_mask;
};

struct ublk_param_discard {
	__u32 discard_alignment;
	__u32 discard_granularity;
	__u32 max_discard_sectors;
	__u32 max_write_zeroes_sectors;
	__u16 max_discard_segments;
	__u16 reserved0;
};

struct ublk_param_devt {
	__u32 char_major;
	__u32 char_minor;
	__u32 disk_major;
	__u32 disk_minor;
};

struct ublk_param_zoned {
	__u32 max_open_zones;
	__u32 max_active_zones;
	__u32 max_zone_append_sectors;
	__u8 reserved[20];
};

#define UBLK_PARAM_TYPE_BASIC	(1U << 0)
#define UBLK_PARAM_TYPE_DISCARD	(1U << 1)
#define UBLK_PARAM_TYPE_DEVT	(1U << 2)
/* 6.15: the alignment - 1 a request's memory has (a power of two - 1,
 * below the page size); without it ublk's is 3 (seen on 6.12). */
struct ublk_param_dma_align {
	__u32 alignment;
	__u8 pad[4];
};

#define UBLK_PARAM_TYPE_ZONED	(1U << 3)
#define UBLK_PARAM_TYPE_DMA_ALIGN	(1U << 4)

/* The 6.12 layout (112 bytes, dma's first half in its tail padding) and
 * 6.15's dma (120). SET_PARAMS sends len 112 unless DMA_ALIGN is used; a
 * kernel reads at most its own size and ignores types it does not know. */
#define UBLK_PARAMS_LEN_6_12	112
struct ublk_params {
	__u32 len;
	__u32 types;
	struct ublk_param_basic basic;
	struct ublk_param_discard discard;
	struct ublk_param_devt devt;
	struct ublk_param_zoned zoned;
	struct ublk_param_dma_align dma;
};

#endif
