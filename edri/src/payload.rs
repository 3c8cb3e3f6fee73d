//! An event as it travels to its subscribers: carried inline in the delivery when it is small
//! and goes to one subscriber, shared behind an `Arc` when several subscribers get it.
//!
//! Most events are a few numbers or a short string, and most have one subscriber. Boxing each
//! one cost a heap allocation on the sender's thread and a free on the receiver's, the largest
//! single cost of a one-way send; an inline payload costs neither.

use std::any::{Any, TypeId};
use std::mem::{self, MaybeUninit};
use std::sync::Arc;

/// The room an inline payload has: 32 bytes, 8-aligned.
type Room = MaybeUninit<[u64; 4]>;

/// A type-erased event: inline or shared.
pub(crate) enum Payload {
    Inline(Inline),
    Shared(Arc<dyn Any + Send + Sync>),
}

impl Payload {
    /// The event, inline when it fits in 32 bytes.
    pub(crate) fn new<E: Any + Clone + Send + Sync>(event: E) -> Self {
        match Inline::new(event) {
            Ok(inline) => Payload::Inline(inline),
            Err(event) => Payload::Shared(Arc::new(event)),
        }
    }

    /// A copy for another subscriber, when the event is plain data inline: copying it costs
    /// less than sharing an `Arc`, whose count every subscriber's core would then write.
    pub(crate) fn copy(&self) -> Option<Payload> {
        match self {
            Payload::Inline(inline) => inline.copy().map(Payload::Inline),
            Payload::Shared(_) => None,
        }
    }

    /// The event behind an `Arc`, so that it can be shared.
    pub(crate) fn into_shared(self) -> Arc<dyn Any + Send + Sync> {
        match self {
            Payload::Inline(inline) => inline.into_shared(),
            Payload::Shared(shared) => shared,
        }
    }

    /// The event as an `E`: moved out when inline or not shared any more, cloned otherwise.
    pub(crate) fn take<E: Clone + Send + Sync + 'static>(self) -> Option<E> {
        match self {
            Payload::Inline(inline) => inline.take::<E>(),
            Payload::Shared(shared) => take_shared(shared),
        }
    }
}

impl std::ops::Deref for Payload {
    type Target = dyn Any + Send + Sync;

    fn deref(&self) -> &Self::Target {
        match self {
            // SAFETY: the room holds the vtable's type (see `Inline`).
            Payload::Inline(inline) => unsafe { (inline.vtable.as_any)(&inline.room) },
            Payload::Shared(shared) => &**shared,
        }
    }
}

impl From<Arc<dyn Any + Send + Sync>> for Payload {
    fn from(shared: Arc<dyn Any + Send + Sync>) -> Self {
        Payload::Shared(shared)
    }
}

/// A shared event as an `E`: moved out when this was the last holder, cloned otherwise.
pub(crate) fn take_shared<E: Clone + Send + Sync + 'static>(
    shared: Arc<dyn Any + Send + Sync>,
) -> Option<E> {
    let event = shared.downcast::<E>().ok()?;
    Some(Arc::try_unwrap(event).unwrap_or_else(|shared| (*shared).clone()))
}

/// What an inline payload knows of the type it holds.
struct VTable {
    type_id: fn() -> TypeId,
    /// Drops the value in place.
    drop: unsafe fn(*mut Room),
    /// Moves the value out into an `Arc`.
    into_shared: unsafe fn(*mut Room) -> Arc<dyn Any + Send + Sync>,
    /// Borrows the value.
    as_any: unsafe fn(&Room) -> &(dyn Any + Send + Sync),
    /// Clones the value, for plain data only (a type without drop glue owns no heap memory,
    /// so its clone allocates nothing).
    copy: Option<unsafe fn(&Room) -> Room>,
}

/// The vtable of `E`, one static per type.
struct VTableOf<E>(E);

impl<E: Any + Clone + Send + Sync> VTableOf<E> {
    const VTABLE: VTable = VTable {
        type_id: TypeId::of::<E>,
        drop: |room| {
            // SAFETY: `room` holds an initialized `E` (see `Inline`), dropped once here.
            unsafe { room.cast::<E>().drop_in_place() }
        },
        into_shared: |room| {
            // SAFETY: `room` holds an initialized `E`, read once; its holder forgets it.
            Arc::new(unsafe { room.cast::<E>().read() })
        },
        as_any: |room| {
            // SAFETY: `room` holds an initialized `E`, borrowed for as long as `room` is.
            unsafe { &*room.as_ptr().cast::<E>() }
        },
        copy: if mem::needs_drop::<E>() {
            None
        } else {
            Some(|room| {
                // SAFETY: `room` holds an initialized `E`; the clone goes into a new room of
                // the same size and alignment.
                let event = unsafe { &*room.as_ptr().cast::<E>() }.clone();
                let mut copy = Room::uninit();
                unsafe { copy.as_mut_ptr().cast::<E>().write(event) };
                copy
            })
        },
    };
}

/// An event of up to 32 bytes, stored in place.
///
/// Invariant: `room` always holds an initialized value of the type `vtable` describes, and
/// that value is dropped or moved out exactly once: by [`Drop`], or by a method that takes
/// `self` and then forgets it.
pub(crate) struct Inline {
    room: Room,
    vtable: &'static VTable,
}

// SAFETY: `Inline::new` only accepts `Send + Sync` values, so the value can be sent.
unsafe impl Send for Inline {}

impl Inline {
    /// Stores the event in place, or gives it back when it does not fit.
    fn new<E: Any + Clone + Send + Sync>(event: E) -> Result<Self, E> {
        if mem::size_of::<E>() > mem::size_of::<Room>()
            || mem::align_of::<E>() > mem::align_of::<Room>()
        {
            return Err(event);
        }
        let mut room = Room::uninit();
        // SAFETY: `E` fits in `room` in size and alignment (checked above).
        unsafe { room.as_mut_ptr().cast::<E>().write(event) };
        Ok(Self {
            room,
            vtable: &VTableOf::<E>::VTABLE,
        })
    }

    fn take<E: 'static>(self) -> Option<E> {
        if (self.vtable.type_id)() != TypeId::of::<E>() {
            return None;
        }
        let mut this = mem::ManuallyDrop::new(self);
        // SAFETY: the room holds an `E` (the type ids match); `this` is never dropped, so the
        // value is moved out once.
        Some(unsafe { this.room.as_mut_ptr().cast::<E>().read() })
    }

    fn copy(&self) -> Option<Inline> {
        let copy = self.vtable.copy?;
        Some(Inline {
            // SAFETY: the room holds the vtable's type.
            room: unsafe { copy(&self.room) },
            vtable: self.vtable,
        })
    }

    fn into_shared(self) -> Arc<dyn Any + Send + Sync> {
        let mut this = mem::ManuallyDrop::new(self);
        // SAFETY: the room holds the vtable's type; `this` is never dropped.
        unsafe { (this.vtable.into_shared)(&mut this.room) }
    }
}

impl Drop for Inline {
    fn drop(&mut self) {
        // SAFETY: the room holds the vtable's type, not moved out (methods that move it out
        // forget `self`).
        unsafe { (self.vtable.drop)(&mut self.room) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_events_stay_inline_and_come_back_whole() {
        let payload = Payload::new((7u64, String::from("seven")));
        assert!(matches!(payload, Payload::Inline(_)));
        assert_eq!(
            payload.take::<(u64, String)>(),
            Some((7, String::from("seven")))
        );
    }

    #[test]
    fn large_events_are_shared_and_the_wrong_type_is_refused() {
        let payload = Payload::new([1u64; 5]);
        assert!(matches!(payload, Payload::Shared(_)));
        assert_eq!(payload.take::<[u64; 5]>(), Some([1; 5]));
        assert_eq!(Payload::new(1u32).take::<u64>(), None);
    }

    #[test]
    fn plain_data_is_copied_and_owning_types_are_not() {
        let plain = Payload::new((1u64, 2u32));
        assert_eq!(
            plain.copy().and_then(Payload::take::<(u64, u32)>),
            Some((1, 2))
        );
        assert_eq!(plain.take::<(u64, u32)>(), Some((1, 2)));
        assert!(Payload::new(String::from("owns")).copy().is_none());
        assert!(Payload::new([0u64; 5]).copy().is_none());
    }

    #[test]
    fn an_inline_event_is_dropped_once_and_can_become_shared() {
        let counted = Arc::new(());
        let payload = Payload::new(counted.clone());
        assert_eq!(Arc::strong_count(&counted), 2);
        assert!(payload.downcast_ref::<Arc<()>>().is_some());
        drop(payload);
        assert_eq!(Arc::strong_count(&counted), 1);

        let shared = Payload::new(counted.clone()).into_shared();
        assert_eq!(Arc::strong_count(&counted), 2);
        assert!(shared.downcast_ref::<Arc<()>>().is_some());
        drop(shared);
        assert_eq!(Arc::strong_count(&counted), 1);
    }
}
