/* What the kernel is told about a device (SET_PARAMS), decided from the
 * same io_can_* capabilities that serve its requests. */
#include "config.h"
#include "daemon/io.h"

#include <string.h>

/* Returns log2 of a power of two. */
static uint8_t io_shift(uint32_t v)
{
	uint8_t s = 0;

	while ((1U << s) < v)
		s++;
	return s;
}

/* Fills SET_PARAMS from the backend's geometry and capabilities. */
void io_fill_params(struct ublk_params *p, const struct io_target *t,
		    struct backend_geometry *geo, uint32_t max_io_buf_bytes, uint64_t flags)
{
	uint8_t lbs = io_shift(geo->block_size);
	uint8_t pbs = lbs > 12 ? lbs : 12;
	bool discard = io_can_discard(t, geo);
	bool zeroes = io_can_write_zeroes(t, geo);

	memset(p, 0, sizeof(*p));
	p->len = UBLK_PARAMS_LEN_6_12;
	p->types = UBLK_PARAM_TYPE_BASIC;
	/* Zero copy hands the backend's O_DIRECT the request's own pages:
	 * the block layer must keep every segment aligned as it needs, said
	 * even when it is the usual 512 (no kernel default is relied on). */
	if ((flags & UBLK_F_AUTO_BUF_REG) && geo->mem_align > 1) {
		p->len = sizeof(*p);
		p->types |= UBLK_PARAM_TYPE_DMA_ALIGN;
		p->dma.alignment = geo->mem_align - 1;
	}
	if (!io_can_write(t, geo))
		p->basic.attrs |= UBLK_ATTR_READ_ONLY;
	if (io_can_flush(t, geo))
		p->basic.attrs |= UBLK_ATTR_VOLATILE_CACHE | UBLK_ATTR_FUA;
	p->basic.logical_bs_shift = lbs;
	p->basic.physical_bs_shift = pbs;
	p->basic.io_min_shift = pbs;
	p->basic.io_opt_shift = pbs;
	/* The smaller of the daemon's buffers and what the backend takes
	 * (an NBD server's maximum block size): the block layer splits. */
	if (geo->max_io_bytes && geo->max_io_bytes < max_io_buf_bytes)
		max_io_buf_bytes = geo->max_io_bytes;
	p->basic.max_sectors = max_io_buf_bytes >> 9;
	p->basic.dev_sectors = geo->size >> 9;
	if (discard || zeroes) {
		p->types |= UBLK_PARAM_TYPE_DISCARD;
		p->discard.discard_granularity = 1U << pbs;
		if (discard)
			p->discard.max_discard_sectors = geo->max_discard_bytes >> 9;
		if (zeroes)
			p->discard.max_write_zeroes_sectors = geo->max_write_zeroes_bytes >> 9;
		p->discard.max_discard_segments = 1;
	}
	/* Report only what the kernel was told. */
	if (!discard)
		geo->max_discard_bytes = 0;
	if (!zeroes)
		geo->max_write_zeroes_bytes = 0;
	geo->volatile_cache = io_can_flush(t, geo);
}
