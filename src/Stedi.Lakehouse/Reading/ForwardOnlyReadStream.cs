namespace Stedi.Lakehouse.Reading;

/// <summary>
/// A stream that is read once, front to back, as a landing object's body is: subclasses implement
/// <see cref="Stream.Read(byte[], int, int)"/> (and may override the span and async forms); seeking, writing, the length
/// and the position are refused with <see cref="NotSupportedException"/>, and <see cref="Flush"/> does nothing.
/// </summary>
public abstract class ForwardOnlyReadStream : Stream
{
    /// <inheritdoc />
    public override bool CanRead => true;
    /// <inheritdoc />
    public override bool CanSeek => false;
    /// <inheritdoc />
    public override bool CanWrite => false;
    /// <summary>Not known in general; a subclass that knows it overrides this.</summary>
    /// <exception cref="NotSupportedException">Always, unless overridden.</exception>
    public override long Length => throw new NotSupportedException();
    /// <summary>Not supported.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    /// <inheritdoc />
    public override void Flush() { }
    /// <summary>Not supported.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    /// <summary>Not supported.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override void SetLength(long value) => throw new NotSupportedException();
    /// <summary>Not supported.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
